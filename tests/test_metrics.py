import numpy as np
import pytest
from scipy import stats

from eznas.metrics import correlate, kendall, spearman


def test_agrees_with_scipy():
    rng = np.random.default_rng(0)
    acc = rng.random(300)
    scores = acc + rng.normal(0, 0.3, 300)
    result = correlate(scores, acc)
    assert result.kendall == pytest.approx(stats.kendalltau(scores, acc).statistic)
    assert result.spearman == pytest.approx(stats.spearmanr(scores, acc).statistic)
    top = np.argsort(-acc)[:30]
    assert result.kendall_top10 == pytest.approx(stats.kendalltau(scores[top], acc[top]).statistic)
    assert result.n == 300 and result.nan == 0


def test_known_cases():
    acc = np.arange(100.0)
    perfect = correlate(acc * 2 + 1, acc)
    assert perfect.kendall == pytest.approx(1) and perfect.spearman == pytest.approx(1)
    assert perfect.top10_top10 == 100 and perfect.top64_top5 == 5
    reverse = correlate(-acc, acc)
    assert reverse.kendall == pytest.approx(-1) and reverse.top10_top10 == 0
    assert reverse.top64_top5 == 0


def test_nan_dropped_and_counted_while_infinities_rank_as_extremes():
    acc = np.arange(10.0)
    scores = acc.copy()
    scores[[1, 4]] = np.nan
    scores[0], scores[9] = -np.inf, np.inf  # e.g. naswot's singular kernel of a dead network
    result = correlate(scores, acc)
    assert result.nan == 2 and result.n == 8 and result.kendall == pytest.approx(1)
    scores[9] = -np.inf  # the best network scored as the worst
    assert correlate(scores, acc).kendall < 0.8
    assert np.isnan(kendall([np.nan, 1.0], [1.0, 2.0]))
    assert np.isnan(spearman([1.0], [1.0]))
    with pytest.raises(ValueError, match="equal length"):
        correlate([1.0, 2.0], [1.0])


def test_kendall_within_groups_weights_each_group_by_size():
    """Within equal-depth groups a proxy that only counts depth ranks nothing."""
    from eznas.metrics import kendall_within

    depth = np.array([1] * 10 + [2] * 20 + [3] * 3)
    rng = np.random.default_rng(0)
    accuracy = rng.normal(size=len(depth)) + depth
    assert kendall(depth.astype(float), accuracy) > 0.3
    assert np.isnan(kendall_within(depth.astype(float), accuracy, depth))  # ties only
    score = accuracy + rng.normal(scale=0.5, size=len(depth))
    by_hand = [
        (n, stats.kendalltau(score[depth == g], accuracy[depth == g]).statistic)
        for g, n in ((1, 10), (2, 20))  # the 3-network group is below ``least``
    ]
    expected = sum(n * t for n, t in by_hand) / 30
    assert kendall_within(score, accuracy, depth) == pytest.approx(expected)
    assert kendall_within(score, accuracy, depth, least=3) != pytest.approx(expected)
