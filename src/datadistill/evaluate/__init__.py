"""Evaluation: named protocols, training fresh networks on a set, baselines."""
from .protocols import PROTOCOLS, Protocol, dc_protocol, get_protocol, learned_lr
from .replay import evaluate_any
from .train import EvalResult, EvalSpec, evaluate_tensors, test_accuracy, train_network

__all__ = ["PROTOCOLS", "Protocol", "dc_protocol", "get_protocol", "learned_lr", "EvalResult", "EvalSpec", "evaluate_any", "evaluate_tensors",
           "test_accuracy", "train_network"]
