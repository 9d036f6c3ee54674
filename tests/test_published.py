from datadistill.published import published


def test_lookup_by_method_dataset_and_ipc():
    assert published("random", "mnist", 1) == "64.9 +- 3.5"
    assert published("kcenter", "fashion-mnist", 50) == "68.3 +- 0.8"
    assert published("dsa", "mnist", 10) == "97.8"


def test_nothing_published_is_none():
    assert published("dm", "fashion-mnist", 10) is None
    assert published("random", "mnist", 20) is None
    assert published("no-such-method", "mnist", 1) is None


def test_nearest_mean_is_compared_with_the_papers_herding_row():
    for ipc in (1, 10, 50):
        assert published("nearest_mean", "mnist", ipc) == published("herding", "mnist", ipc)
    assert published("nearest_mean", "fashion-mnist", 50) == "71.9 +- 0.8"


def test_within_std_reads_the_published_figure():
    from datadistill.published import within_std

    assert within_std(90.8, "89.2 +- 1.6") is True and within_std(90.81, "89.2 +- 1.6") is False
    assert within_std(87.6, "89.2 +- 1.6") is True and within_std(87.5, "89.2 +- 1.6") is False
    assert within_std(97.0, "97.8") is None and within_std(97.0, None) is None


def test_optimal_random_selection_figures_by_top_count():
    from datadistill.published import published_ors

    assert published_ors("mnist", 1) == {10: "78.2 +- 1.7", 100: "74.4 +- 1.8", 1000: "64.3 +- 6.1"}
    assert published_ors("fashion-mnist", 10)[100] == "76.4 +- 0.6"
    assert published_ors("mnist", 50) == {}


def test_ablation_rows_name_convnet_variants_that_change_one_factor_each():
    from datadistill.models import create_model, parse_model_spec
    from datadistill.published import ablation_factors, published_ablation

    assert ablation_factors() == ["activation", "pooling", "normalization", "depth", "width"]
    assert published_ablation("normalization")["convnet:norm=batchnorm"] == "56.7 +- 6.5"
    assert published_ablation("kernel") == {}
    option = {"activation": "act", "pooling": "pooling", "normalization": "norm", "depth": "depth", "width": "width"}
    for factor in ablation_factors():
        row = published_ablation(factor)
        assert row["convnet"] == "91.7 +- 0.5"  # the default network, the same cell in every table
        for spec in row:
            name, kw = parse_model_spec(spec)
            assert name == "convnet" and set(kw) <= {option[factor]}
            create_model(spec, 1, 10, 28)  # every variant builds for MNIST


def test_ablation_tables_give_the_row_of_the_network_a_set_was_condensed_with():
    from datadistill.published import ablation_factors, ablation_spec, published_ablation

    # options at the paper's values name the default network; two changed factors are in no table
    assert ablation_spec("convnet:depth=3:act=relu") == "convnet"
    assert ablation_spec("convnet:width=32:depth=3") == "convnet:width=32"
    assert ablation_spec("convnet:width=32:depth=1") is None and ablation_spec("mlp") is None
    # a variant's row lies in its own factor's table only: condensed with depth 1, trained on the default ConvNet
    assert ablation_factors("convnet:depth=1") == ["depth"]
    assert published_ablation("depth", "convnet:depth=1")["convnet"] == "77.1 +- 4.0"
    assert published_ablation("width", "convnet:depth=1") == {}
    assert published_ablation("normalization", "convnet:norm=batchnorm")["convnet"] == "90.9 +- 0.6"
    # the diagonal of the activation table: condensed and trained with sigmoid
    assert published_ablation("activation", "convnet:act=sigmoid")["convnet:act=sigmoid"] == "86.7 +- 0.7"
    # every factor's table is square: one row per variant, each row as long as the variants
    for factor in ablation_factors():
        variants = list(published_ablation(factor))
        assert all(list(published_ablation(factor, v)) == variants for v in variants)
