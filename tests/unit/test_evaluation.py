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
