"""datadistill: dataset distillation (DD, DC, DSA, DM, MTT) behind one interface."""
__version__ = "0.2.0"

from .api import distill, evaluate, load, resolve_data  # noqa: E402
from .baselines import random_real, whole_dataset  # noqa: E402
from .models import create_model, list_models  # noqa: E402
from .synthetic import SyntheticSet  # noqa: E402

__all__ = ["__version__", "distill", "evaluate", "load", "resolve_data", "random_real", "whole_dataset",
           "create_model", "list_models", "SyntheticSet"]
