"""DD's linear-regression bound (Sec. 3.3): one GD step on M distilled points reaches the optimum from every
initialisation only when M >= D. Run: python examples/linear_regression_bound.py"""
import torch

from datadistill.theory import distill_linear, excess_loss

gen = torch.Generator().manual_seed(0)
n, dim = 200, 6
d = torch.randn(n, dim, generator=gen, dtype=torch.float64)
t = d @ torch.randn(dim, generator=gen, dtype=torch.float64) + 0.1 * torch.randn(n, generator=gen, dtype=torch.float64)
for m in range(1, dim + 2):
    distilled = distill_linear(d, t, m, gen)
    print(f"M = {m} (D = {dim}): excess loss after one step from random theta_0 = {excess_loss(d, t, distilled, gen):.2e}")
