"""DD's linear-regression bound: zero excess loss with M = D distilled points, not with M < D."""
import torch

from datadistill.theory import distill_linear, excess_loss


def test_one_step_reaches_the_optimum_only_with_m_at_least_d():
    gen = torch.Generator().manual_seed(0)
    n, dim = 100, 4
    d = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    t = d @ torch.randn(dim, generator=gen, dtype=torch.float64) + 0.1 * torch.randn(n, generator=gen,
                                                                                      dtype=torch.float64)
    full = excess_loss(d, t, distill_linear(d, t, dim, gen, iterations=4000, lr=0.02), gen)
    short = excess_loss(d, t, distill_linear(d, t, dim - 1, gen, iterations=4000, lr=0.02), gen)
    assert full < 1e-3, full
    assert short > 0.05, short
