"""scikit-learn's own ranking-metric tests, run against shouxie.

The tests are scikit-learn's ``sklearn/metrics/tests/test_ranking.py`` from the installed
package (BSD-3-Clause, executed in place, not copied), with ``roc_auc_score``, ``roc_curve``,
``precision_recall_curve`` and ``average_precision_score`` rebound to the adapters of
:mod:`.adapters`. Only the binary tests are collected (see tests/peer/README.md).
"""
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

from .._upstream import load_installed_tests, pick  # noqa: E402
from .adapters import RANKING, Unsupported  # noqa: E402

upstream = load_installed_tests("sklearn.metrics.tests", "test_ranking.py", RANKING)

SELECTED = (
    "test_roc_curve", "test_roc_curve_end_points", "test_roc_returns_consistency", "test_roc_curve_multi",
    "test_roc_curve_confidence", "test_roc_curve_hard", "test_roc_curve_one_label", "test_roc_curve_toydata",
    "test_roc_curve_drop_intermediate", "test_roc_curve_fpr_tpr_increasing", "test_auc_score_non_binary_class",
    "test_confusion_matrix_at_thresholds_multiclass_error", "test_confusion_matrix_at_thresholds_implicit_pos_label",
    "test_confusion_matrix_at_thresholds_implicit_bytes_pos_label",
    "test_confusion_matrix_at_thresholds_zero_sample_weight",
    "test_precision_recall_curve", "test_precision_recall_curve_toydata",
    "test_precision_recall_curve_drop_intermediate", "test_average_precision_constant_values",
    "test_average_precision_score_binary_pos_label_errors",
    "test_average_precision_score_multilabel_pos_label_errors",
    "test_average_precision_score_multiclass_pos_label_errors",
    "test_score_scale_invariance", "test_partial_roc_auc_score", "test_ranking_metric_pos_label_types",
    "test_roc_curve_with_probability_estimates", "test_metric_at_thresholds",
)
globals().update(pick(upstream, SELECTED))

NOT_SHOUXIE = "a scikit-learn function with no shouxie counterpart (the case would test scikit-learn itself)"
PEER_SKIP = {
    "*[confusion_matrix_at_thresholds]": NOT_SHOUXIE,
    "*[det_curve]": NOT_SHOUXIE,
    "*-det_curve]": NOT_SHOUXIE,
    "test_metric_at_thresholds[*-accuracy_score]": NOT_SHOUXIE,
    "test_metric_at_thresholds[*-precision_score]": NOT_SHOUXIE,
    "test_metric_at_thresholds[*-_dummy_metric]": NOT_SHOUXIE,
}
WARNING = ("shouxie's UndefinedMetricWarning is its own UserWarning subclass, worded differently, not "
           "scikit-learn's sklearn.exceptions.UndefinedMetricWarning")
ONE_CLASS = ("roc_auc_score with one class in y_true: shouxie raises ValueError (AUC undefined), "
             "scikit-learn >= 1.8 warns and returns NaN")
WORDING = "same exception type, different message wording"
MULTI = "multiclass / multilabel input (shouxie's ranking metrics are binary)"
PEER_XFAIL = {
    "test_roc_curve_one_label": (WARNING, pytest.fail.Exception),
    "test_roc_curve_toydata": (f"{WARNING}; {ONE_CLASS}; {MULTI}", (pytest.fail.Exception, ValueError)),
    "test_auc_score_non_binary_class": (ONE_CLASS, pytest.fail.Exception),
    "test_confusion_matrix_at_thresholds_multiclass_error[*]": (WORDING, AssertionError),
    "test_confusion_matrix_at_thresholds_implicit_pos_label[*]": (WORDING, AssertionError),
    "test_confusion_matrix_at_thresholds_implicit_bytes_pos_label[*]": (
        "bytes labels are accepted (scikit-learn refuses them with TypeError); here without pos_label, "
        "so shouxie's ValueError asks for one", ValueError),
    "test_precision_recall_curve_toydata[*]": (f"{WARNING}; {MULTI}", pytest.fail.Exception),
    "test_average_precision_score_binary_pos_label_errors": (WORDING, AssertionError),
    "test_average_precision_score_multilabel_pos_label_errors": (MULTI, Unsupported),
    "test_average_precision_score_multiclass_pos_label_errors": (MULTI, Unsupported),
}
