"""evaluation.toml: what each rate divides and the weighted composite scores, validated."""

import pytest

from grid_service.configuration.evaluation import EvaluationConfig
from grid_service.configuration.files import ConfigError, read_config_dir
from tests.conftest import FIXTURE_CONFIG

COUNTS = {"filed": 10, "due": 8, "closed": 6, "closed_on_time": 3, "reworked": 2, "reported": 9, "dispatched": 9}


def test_the_defaults_are_the_bulletins_rates_and_score():
    evaluation = EvaluationConfig()
    rates = evaluation.rates_of(COUNTS)
    assert rates == {"closure_rate": 0.75, "on_time_rate": 0.375, "rework_rate": 0.25}
    # 0.75 x 0.4 + 0.375 x 0.4 + (1 - 0.25) x 0.2
    assert evaluation.scores_of(rates) == {"composite": 0.6}


def test_a_rate_over_another_figure_and_a_score_of_one_missing_rate():
    evaluation = EvaluationConfig.model_validate(
        {
            "rates": {"on_time_rate": {"numerator": "closed_on_time", "denominator": "closed"}},
            "score": [{"code": "timely", "name": "按期", "term": [{"rate": "on_time_rate", "weight": 1}]}],
        }
    )
    assert evaluation.rates_of(COUNTS)["on_time_rate"] == 0.5
    nothing_due = evaluation.rates_of({**COUNTS, "due": 0, "closed": 0})
    assert nothing_due == {"closure_rate": None, "on_time_rate": None, "rework_rate": None}
    assert evaluation.scores_of(nothing_due) == {"timely": None}


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            '[rates.on_time_rate]\nnumerator = "closed_on_time"\ndenominator = "cases"\n',
            "rates.on_time_rate.denominator",
        ),
        ('[rates.speed]\nnumerator = "closed"\ndenominator = "due"\n', "rates.speed"),
        ('[rates.closure_rate]\nnumerator = "filed"\ndenominator = "due"\n', "not a share of its cases"),
        (
            '[[score]]\ncode = "a"\nname = "A"\n[[score.term]]\nrate = "closure_rate"\nweight = -1\n',
            "score.0.term.0.weight",
        ),
        ('[[score]]\ncode = "a"\nname = "A"\nterm = []\n', "score.0.term"),
        (
            '[[score]]\ncode = "a"\nname = "A"\n[[score.term]]\nrate = "closure_rate"\nweight = 1\n'
            '[[score]]\ncode = "a"\nname = "B"\n[[score.term]]\nrate = "closure_rate"\nweight = 1\n',
            "defined more than once",
        ),
    ],
)
def test_a_bad_evaluation_file_is_refused_naming_the_file_and_the_item(tmp_path, text, problem):
    import shutil

    directory = tmp_path / "config"
    shutil.copytree(FIXTURE_CONFIG, directory)
    (directory / "evaluation.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        read_config_dir(directory)
    assert any(p.startswith("evaluation.toml: ") and problem in p for p in err.value.problems), err.value.problems


def test_the_bulletins_adjusted_rate_follows_the_configured_formula():
    """A province counting 按期结案率 over 结案数 gets it so in both the raw and the 按批准期 column."""
    from zoneinfo import ZoneInfo

    from grid_service.bulletin import Month, assemble
    from grid_service.db.bulletin import CohortGroup

    evaluation = EvaluationConfig.model_validate(
        {"rates": {"on_time_rate": {"numerator": "closed_on_time", "denominator": "closed"}}}
    )
    group = CohortGroup("department", "housing", filed=10, due=8, due_adjusted=6, closed=5, on_time=2,
                        on_time_adjusted=4, reworked=1)  # fmt: skip
    month = Month(2026, 12, ZoneInfo("Asia/Shanghai"))
    bulletin = assemble(month, [group], {}, ({}, {}, {}), {}, evaluation, "平房区")
    [row] = bulletin["sections"]["department"]["rows"]
    assert (row["on_time_rate"], row["adjusted_on_time_rate"]) == (0.4, 0.8)
    default = assemble(month, [group], {}, ({}, {}, {}), {}, EvaluationConfig(), "平房区")
    [row] = default["sections"]["department"]["rows"]
    assert (row["on_time_rate"], row["adjusted_on_time_rate"]) == (0.25, 0.6667)
