"""Reference points for every distilled set: random real images at the same IPC, and the whole dataset."""
from __future__ import annotations

from .data.base import DatasetSplits
from .evaluate import EvalResult, EvalSpec, Protocol, evaluate_tensors
from .synthetic import SyntheticSet

# Whole-dataset recipe (documented, cached by later issues): the evaluation SGD settings, bf16 autocast,
# 20 epochs with the step decay at half. Not a paper protocol: the papers train to convergence on a GPU.
WHOLE = Protocol("whole", epochs=20, precision="bf16")


def random_real(data: DatasetSplits, ipc: int, seed: int = 0) -> SyntheticSet:
    """ipc random real training images per class, as a SyntheticSet (the 'random' baseline)."""
    from .coresets import coreset_set

    return coreset_set("random", data, ipc, seed)


def whole_dataset(data: DatasetSplits, spec: EvalSpec) -> EvalResult:
    """Accuracy of networks trained on the whole training split (spec.protocol or WHOLE)."""
    spec = spec if spec.protocol is not None else EvalSpec(**{**spec.__dict__, "protocol": WHOLE})
    return evaluate_tensors(data.train.images, data.train.labels, data.info, data.test, spec)
