import numpy as np
from onnx import numpy_helper

from onnx_datagen.graph.bn import bn_verdict, find_bn_sites
from tests.conftest import bn_model


def test_sites_read_running_stats_from_initializers():
    model = bn_model()
    sites = find_bn_sites(model)
    assert [(s.name, s.input, s.producer, s.channels) for s in sites] == [
        ("bn1", "c1", "Conv", 8),
        ("bn2", "c2", "Conv", 16),
    ]
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    np.testing.assert_array_equal(sites[0].running_mean, inits["bn1_mean"])
    np.testing.assert_array_equal(sites[1].running_var, inits["bn2_var"])
    assert sites[0].epsilon == np.float32(1e-5)


def test_stats_from_constant_nodes_equal_initializer_stats():
    from_inits, from_constants = (
        find_bn_sites(bn_model(seed=3)),
        find_bn_sites(bn_model(seed=3, stats_as_constants=True)),
    )
    for a, b in zip(from_inits, from_constants):
        np.testing.assert_array_equal(a.running_mean, b.running_mean)
        np.testing.assert_array_equal(a.running_var, b.running_var)


def test_stats_aliased_through_identity_are_read():
    """torch's exporter stores equal tensors once: a fresh BN's running_mean became Identity(bn1.bias)."""
    from onnx import helper

    model = bn_model(seed=3)
    expected = find_bn_sites(model)[0].running_mean
    bn = next(n for n in model.graph.node if n.name == "bn1")
    alias = helper.make_node("Identity", ["bn1_mean"], ["bn1_mean_alias"])
    model.graph.node.insert(list(model.graph.node).index(bn), alias)
    bn.input[3] = "bn1_mean_alias"
    np.testing.assert_array_equal(find_bn_sites(model)[0].running_mean, expected)


def test_verdicts():
    model, folded = bn_model(), bn_model(folded=True)
    assert bn_verdict(model, find_bn_sites(model)) == "ready"
    assert bn_verdict(folded, find_bn_sites(folded)) == "bn-folded"
    no_conv = bn_model(folded=True)
    keep = [n for n in no_conv.graph.node if n.op_type not in ("Conv",)]
    del no_conv.graph.node[:]
    no_conv.graph.node.extend(keep)
    assert bn_verdict(no_conv, []) == "no-bn"
