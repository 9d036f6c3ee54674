"""Published test accuracies (%), from shared/REFERENCE.md: shown next to ours in reports and benches.

ConvNet figures, except DD's (LeNet / AlexCifarNet, as its paper evaluates). Keys are (method, dataset, ipc), the
method as methods.method_label names a run; values 'mean +- std' strings as published, with the std only where
a text in shared/papers states it (the DC paper's Table 1, the MTT slides' table, the DD paper's Table 1);
otherwise the mean alone.
"""
from __future__ import annotations

_TABLE = {
    # method: {dataset: (IPC 1, IPC 10, IPC 50)}
    "random": {"mnist": ("64.9 +- 3.5", "95.1 +- 0.9", "97.9 +- 0.2"),
               "fashion-mnist": ("51.4 +- 3.8", "73.8 +- 0.7", "82.5 +- 0.7"),
               "cifar10": ("14.4 +- 2.0", "26.0 +- 1.2", "43.4 +- 1.0")},
    "herding": {"mnist": ("89.2 +- 1.6", "93.7 +- 0.3", "94.9 +- 0.2"),
                "fashion-mnist": ("67.0 +- 1.9", "71.1 +- 0.7", "71.9 +- 0.8"),
                "cifar10": ("21.5 +- 1.2", "31.6 +- 0.7", "40.4 +- 0.6")},
    "kcenter": {"mnist": ("89.3 +- 1.5", "84.4 +- 1.7", "97.4 +- 0.3"),
                "fashion-mnist": ("66.9 +- 1.8", "54.7 +- 1.5", "68.3 +- 0.8"),
                "cifar10": ("21.5 +- 1.3", "14.7 +- 0.9", "27.0 +- 1.4")},
    "forgetting": {"mnist": ("35.5 +- 5.6", "68.1 +- 3.3", "88.2 +- 1.2"),
                   "fashion-mnist": ("42.0 +- 5.5", "53.9 +- 2.0", "55.0 +- 1.1"),
                   "cifar10": ("13.5 +- 1.2", "23.3 +- 1.0", "23.3 +- 1.1")},
    "dc": {"mnist": ("91.7 +- 0.5", "97.4 +- 0.2", "98.8 +- 0.2"),
           "fashion-mnist": ("70.5 +- 0.6", "82.3 +- 0.4", "83.6 +- 0.4"),
           "cifar10": ("28.3 +- 0.5", "44.9 +- 0.5", "53.9 +- 0.5")},
    "dsa": {"mnist": ("88.7 +- 0.6", "97.8", "99.2"),
            "fashion-mnist": ("70.6", "84.6", "88.7"),
            "cifar10": ("28.8 +- 0.7", "52.1 +- 0.5", "60.6")},
    "dm": {"mnist": ("89.7", "97.5", "98.6"),
           "cifar10": ("26.0 +- 0.8", "48.9 +- 0.6", "63.0")},
    "mtt": {"cifar10": ("46.3 +- 0.8", "65.3 +- 0.7", "71.6")},
    # DD trains LeNet (MNIST) and AlexCifarNet (CIFAR-10), each step on one image per class; rows by
    # methods.method_label (the DD paper's Table 1 and its Figure 2 caption for one step)
    "dd (fixed init, 1 step x 3 epochs)": {"mnist": ("93.8", None, None)},
    "dd (fixed init, 10 steps x 3 epochs)": {"mnist": (None, "96.6", None), "cifar10": (None, "54.0", None)},
    "dd (random init, 10 steps x 3 epochs)": {"mnist": (None, "79.5 +- 8.1", None),
                                              "cifar10": (None, "36.8 +- 1.2", None)},
}
# Selections compared with another method's published row: the DC paper describes its herding baseline as
# selecting the "closest samples to the cluster center", which is what nearest_mean does (docs/results.md: it
# reproduces that row on MNIST and Fashion-MNIST, where Welling's greedy herding lands above it).
_SAME_ROW = {"nearest_mean": "herding"}
WHOLE = {"mnist": "99.6 +- 0.0", "fashion-mnist": "93.5 +- 0.1", "cifar10": "84.8 +- 0.1", "svhn": "95.4 +- 0.1"}
_IPCS = (1, 10, 50)
# The DC paper's Figure 3 row: (method, dataset, ipc, network the set was made with) -> accuracy of each network
# trained on it
_CROSSARCH = {("dc", "mnist", 1, "convnet"): {"mlp": 69.6, "convnet": 91.7, "lenet": 85.3, "alexnet": 85.1,
                                              "vgg11": 83.4, "resnet18": 90.0}}

# The DC paper's Appendix C, Table T5 (optimal random selection): 1,000 random sets per cell ranked by their test
# accuracy, the mean of the best 10, the best 100 and all 1,000; IPC 1 and 10 only
_ORS = {("mnist", 1): ("78.2 +- 1.7", "74.4 +- 1.8", "64.3 +- 6.1"),
        ("mnist", 10): ("96.4 +- 0.1", "96.0 +- 0.2", "94.8 +- 0.7"),
        ("fashion-mnist", 1): ("62.4 +- 0.9", "59.6 +- 1.3", "51.3 +- 5.4"),
        ("fashion-mnist", 10): ("77.6 +- 0.2", "76.4 +- 0.6", "73.8 +- 1.6"),
        ("svhn", 1): ("19.9 +- 0.2", "18.1 +- 0.9", "14.3 +- 2.1"),
        ("svhn", 10): ("42.9 +- 0.9", "40.3 +- 1.3", "34.6 +- 3.2"),
        ("cifar10", 1): ("20.1 +- 0.5", "18.5 +- 0.8", "15.0 +- 2.0"),
        ("cifar10", 10): ("31.4 +- 0.2", "29.8 +- 0.7", "27.1 +- 1.6")}
ORS_POOL = 1000  # random sets ranked per cell of Table T5

# The DC paper's single-factor ablations (supplementary: Figure F10, Table T3, Figure F12), DC on MNIST at IPC 1:
# per factor, the ConvNet variants (model specs, as `--model` takes them; 'convnet' is the default network: ReLU,
# average pooling, InstanceNorm, depth 3, width 128) and the C x T matrix, row = the network the set was condensed
# with, column = the network trained on it, each cell (mean, std)
_ABLATIONS: dict[str, tuple[tuple[str, ...], tuple[tuple[float, ...], ...]]] = {
    "activation": (("convnet:act=sigmoid", "convnet", "convnet:act=leakyrelu"),
                   ((86.7, 0.7, 91.2, 0.6, 91.2, 0.6),
                    (86.1, 0.9, 91.7, 0.5, 91.7, 0.5),
                    (86.3, 0.9, 91.7, 0.5, 91.7, 0.4))),
    "pooling": (("convnet:pooling=none", "convnet:pooling=maxpooling", "convnet"),
                ((78.7, 3.0, 80.8, 3.5, 88.3, 1.0),
                 (81.2, 2.8, 89.5, 1.1, 91.1, 0.6),
                 (81.8, 2.9, 90.2, 0.8, 91.7, 0.5))),
    "normalization": (("convnet:norm=none", "convnet:norm=batchnorm", "convnet:norm=layernorm", "convnet",
                       "convnet:norm=groupnorm"),
                      ((79.0, 2.2, 80.8, 2.0, 85.8, 1.7, 90.7, 0.7, 85.9, 1.7),
                       (78.6, 2.1, 80.7, 1.8, 85.7, 1.6, 90.9, 0.6, 85.9, 1.5),
                       (81.2, 1.8, 78.6, 3.0, 87.4, 1.3, 90.7, 0.7, 87.3, 1.4),
                       (72.9, 7.1, 56.7, 6.5, 82.7, 5.3, 91.7, 0.5, 84.3, 4.2),
                       (79.5, 2.1, 81.8, 2.3, 87.3, 1.2, 91.6, 0.5, 87.2, 1.2))),
    "depth": (("convnet:depth=1", "convnet:depth=2", "convnet", "convnet:depth=4"),
              ((61.3, 3.5, 78.2, 3.0, 77.1, 4.0, 76.4, 3.5),
               (78.3, 2.3, 89.0, 0.8, 91.0, 0.6, 89.4, 0.8),
               (81.6, 1.5, 89.8, 0.8, 91.7, 0.5, 90.4, 0.6),
               (82.5, 1.3, 89.9, 0.8, 91.9, 0.5, 90.6, 0.4))),
    "width": (("convnet:width=32", "convnet:width=64", "convnet", "convnet:width=256"),
              ((90.6, 0.8, 91.4, 0.5, 91.5, 0.5, 91.3, 0.6),
               (91.0, 0.8, 91.6, 0.6, 91.8, 0.5, 91.4, 0.6),
               (90.8, 0.7, 91.5, 0.6, 91.7, 0.5, 91.2, 0.7),
               (91.0, 0.7, 91.6, 0.6, 91.7, 0.5, 91.4, 0.5))),
}
# the paper's ConvNet: an option at this value names the default network ('convnet:depth=3' is 'convnet')
_PAPER_CONVNET = {"act": "relu", "pooling": "avgpooling", "norm": "instancenorm", "depth": 3, "width": 128}


def published_ors(dataset: str, ipc: int) -> dict[int, str]:
    """Table T5's optimal-random-selection figures for (dataset, ipc): {top: 'mean +- std'} for the best 10, 100
    and all 1,000 of its random sets ({} where the table has no cell)."""
    row = _ORS.get((dataset, ipc))
    return dict(zip((10, 100, ORS_POOL), row)) if row else {}


def ablation_spec(model: str) -> str | None:
    """The name the ablation tables give the network `model` (a ConvNet spec): 'convnet' plus the options that
    differ from the paper's ConvNet ('convnet:depth=3:act=relu' -> 'convnet'); None for another network or a
    ConvNet that differs in more than one factor, which the tables do not hold."""
    from .models import model_spec, parse_model_spec

    name, kw = parse_model_spec(model)
    changed = {k: v for k, v in kw.items() if _PAPER_CONVNET.get(k, object()) != v}
    if name != "convnet" or len(changed) > 1:
        return None
    return model_spec("convnet", changed)


def published_ablation(factor: str, condensed_with: str = "convnet") -> dict[str, str]:
    """The DC paper's ablation of one ConvNet factor (activation, pooling, normalization, depth, width), MNIST IPC 1:
    {ConvNet variant trained on the set (model spec): 'mean +- std'} for sets condensed with the ConvNet
    `condensed_with` (default: the paper's ConvNet; any spec ablation_spec names); {} for a factor the paper does
    not ablate or a network outside that factor's table."""
    specs, rows = _ABLATIONS.get(factor, ((), ()))
    made = ablation_spec(condensed_with)
    if made not in specs:
        return {}
    row = rows[specs.index(made)]
    return {spec: f"{row[2 * i]} +- {row[2 * i + 1]}" for i, spec in enumerate(specs)}


def ablation_factors(condensed_with: str = "convnet") -> list[str]:
    """The factors whose table has a row for sets condensed with `condensed_with`, in the paper's order (every
    factor for the default ConvNet; the one it varies for a variant)."""
    return [f for f in _ABLATIONS if published_ablation(f, condensed_with)]


def published(method: str, dataset: str, ipc: int) -> str | None:
    """The published accuracy for (method, dataset, ipc), or None when the papers report none; nearest_mean
    gets the paper's herding row (see _SAME_ROW)."""
    row = _TABLE.get(_SAME_ROW.get(method, method), {}).get(dataset)
    return row[_IPCS.index(ipc)] if row and ipc in _IPCS else None


def published_crossarch(method: str, dataset: str, ipc: int, made_with: str = "convnet") -> dict[str, float]:
    """The published accuracy of each network trained on a set made with `made_with` ({} when the papers give
    no such row)."""
    return dict(_CROSSARCH.get((method, dataset, ipc, made_with), {}))


def within_std(mean: float, figure: str | None) -> bool | None:
    """Whether `mean` lies within the published std of `figure` ('89.2 +- 1.6'); None when the figure states no
    std (or there is none)."""
    if not figure or "+-" not in figure:
        return None
    pub, std = (float(v) for v in figure.split("+-"))
    return abs(mean - pub) <= std + 1e-9
