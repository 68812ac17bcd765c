"""Metrics against small hand-computed cases."""

import numpy as np
import pytest

from seisfuse.metrics import BinaryMetrics, binary_metrics, multiclass_metrics, psnr, salt_score, ssim


def test_binary_counts_by_hand():
    truth = np.array([[1, 1, 0, 0], [0, 0, 0, 1]])
    prob = np.array([[0.9, 0.2, 0.7, 0.1], [0.0, 0.0, 0.0, 0.6]])
    m = binary_metrics(prob, truth, tolerance=0)
    # tp = 2, fp = 1, fn = 1, tn = 4
    assert m["iou"] == pytest.approx(2 / 4) and m["dice"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(6 / 8)


def test_ods_finds_the_best_threshold_and_ap_of_a_perfect_ranking_is_one():
    truth = np.array([1, 1, 0, 0, 0])
    prob = np.array([0.35, 0.3, 0.2, 0.1, 0.05])  # all positives above all negatives, below 0.5
    m = binary_metrics(prob, truth, tolerance=0)
    assert m["f1"] == 0.0 and m["ods_f1"] == pytest.approx(1.0)
    assert 0.2 < m["ods_threshold"] <= 0.3 and m["ap"] == pytest.approx(1.0)


def test_average_precision_by_hand():
    truth = np.array([1, 0, 1, 0])
    prob = np.array([0.9, 0.8, 0.7, 0.1])
    # ranking: P R at each positive: (1, 0.5), (2/3, 1) -> AP = 0.5 * 1 + 0.5 * 2/3
    assert binary_metrics(prob, truth)["ap"] == pytest.approx(0.5 + 1 / 3)


def test_tolerance_f1_forgives_a_one_voxel_shift():
    truth = np.zeros((20, 20), int)
    truth[:, 10] = 1
    pred = np.zeros((20, 20))
    pred[:, 11] = 1.0  # the fault, one voxel off
    strict = binary_metrics(pred, truth, tolerance=0)
    loose = binary_metrics(pred, truth, tolerance=1)
    assert strict["f1"] == 0.0 and strict["tolerance_f1@0"] == 0.0
    assert loose["tolerance_f1@1"] == pytest.approx(1.0)


def test_mask_excludes_missing_traces_and_accumulation_equals_one_shot():
    rng = np.random.default_rng(0)
    prob, truth = rng.random((4, 8, 8)), rng.random((4, 8, 8)) > 0.8
    mask = np.ones((4, 8, 8), bool)
    mask[0] = False
    acc = BinaryMetrics(tolerance=0)
    for i in range(4):
        acc.update(prob[i], truth[i], mask[i])
    assert acc.compute() == pytest.approx(binary_metrics(prob[1:], truth[1:], tolerance=0))


def test_f3_style_facies_metrics_by_hand():
    truth = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 1, 2, 2, 0, 2])
    m = multiclass_metrics(pred, truth, classes=3)
    assert m["pa"] == pytest.approx(8 / 10)
    assert m["class_accuracy"] == pytest.approx([3 / 4, 1.0, 3 / 4])
    assert m["mca"] == pytest.approx((0.75 + 1 + 0.75) / 3)
    iou = [3 / 5, 2 / 3, 3 / 4]  # class 0: tp 3, fp 1, fn 1; class 1: tp 2, fp 1; class 2: tp 3, fn 1
    assert m["iou_per_class"] == pytest.approx(iou)
    assert m["miou"] == pytest.approx(np.mean(iou))
    assert m["fwiu"] == pytest.approx(0.4 * iou[0] + 0.2 * iou[1] + 0.4 * iou[2])


def test_salt_score_rules():
    empty = np.zeros((1, 4, 4), bool)
    full = np.ones((1, 4, 4), bool)
    assert salt_score(empty, empty) == 1.0 and salt_score(full, empty) == 0.0
    half = full.copy()
    half[0, :2] = False  # IoU 0.5: above only the 0.5 threshold? no: 0.5 > 0.5 is False
    assert salt_score(half, full) == 0.0
    mostly = full.copy()
    mostly[0, 0, 0] = False  # IoU 15/16 = 0.9375: above 0.50..0.90 -> 9 of 10
    assert salt_score(mostly, full) == pytest.approx(0.9)


def test_image_metrics():
    a = np.random.default_rng(1).random((32, 32))
    assert ssim(a, a) == pytest.approx(1.0) and psnr(a, a) == float("inf")
    assert psnr(a, a + 0.1) == pytest.approx(20.0)


def test_evaluate_refuses_labels_and_predictions_that_do_not_fit_the_task(tmp_path, run_cli):
    import seisfuse

    store = seisfuse.synth(tmp_path / "s.zarr", shape=(32, 32, 32), seed=1)
    top = int(seisfuse.open_store(store).facies.max())
    code, _, err = run_cli("evaluate", store, "--pred", "facies", "--label", "facies", "--task", "multiclass",
                           "--classes", "3")
    assert code == 2 and "'facies' holds values 0.." in err and f"give --classes {top + 1}" in err
    code, _, err = run_cli("evaluate", store, "--pred", "fault", "--label", "facies")
    assert code == 2 and "not a binary label (0 or 1)" in err
    probabilities = np.full(seisfuse.open_store(store).fault.shape, 0.3, np.float32)
    seisfuse.write_variable(store, "p", probabilities)
    code, _, err = run_cli("evaluate", store, "--pred", "p", "--label", "facies", "--task", "multiclass")
    assert code == 2 and "'p' holds values 0.3..0.3 that are not whole numbers" in err
    seisfuse.write_variable(store, "amp", seisfuse.open_store(store).amplitude.values)
    code, _, err = run_cli("evaluate", store, "--pred", "amp", "--label", "fault")
    assert code == 2 and "not probabilities or labels in [0, 1]" in err
    code, out, err = run_cli("evaluate", store, "--pred", "facies", "--label", "facies", "--task", "multiclass")
    assert code == 0 and "miou" in out, err


def test_counts_of_several_parts_add_up_to_the_metrics_of_the_whole():
    """state() of each part, summed, gives what one pass over all of them gives (pooled folds)."""
    from seisfuse.metrics import MulticlassMetrics

    rng = np.random.default_rng(5)
    prob, label = rng.random((3, 16, 16)), rng.random((3, 16, 16)) > 0.8
    pred, classes = rng.integers(0, 4, (3, 16, 16)), rng.integers(0, 4, (3, 16, 16))
    binary = [BinaryMetrics() for _ in range(3)]
    multi = [MulticlassMetrics(4) for _ in range(3)]
    for k in range(3):
        binary[k].update(prob[k], label[k])
        multi[k].update(pred[k], classes[k])
    states = [b.state() for b in binary]
    summed = {key: np.sum([s[key] for s in states], axis=0) for key in ("hist_pos", "hist_neg", "tp", "fp", "fn",
                                                                       "tn", "tol")}
    whole = binary_metrics(prob, label)  # the tolerance hits of parts add up: no structure crosses a part here
    pooled = BinaryMetrics.from_state({**states[0], **summed}).compute()
    for key in ("iou", "f1", "ods_f1", "ap", "precision", "recall"):
        assert pooled[key] == pytest.approx(whole[key]), key
    confusion = np.sum([m.state()["confusion"] for m in multi], axis=0)
    assert MulticlassMetrics.from_state({"confusion": confusion}).compute() == multiclass_metrics(pred, classes, 4)
    assert sum(m.state()["pixels"] for m in multi) == 3 * 16 * 16 == int(summed["tp"] + summed["fp"] + summed["fn"]
                                                                          + summed["tn"])
