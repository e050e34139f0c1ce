"""``aflab antilab`` as a pipeline: what it tells the user about the scenarios it cannot score."""

from pathlib import Path

from aflab.pipelines.antilab import SELF_REPORT_NOTE, execute_antilab
from aflab.spec import RunSpec
from tests.conftest import FLAKY


def test_lie_to_lab_in_animal_welfare_without_self_tag_is_said_to_be_unscored(
    tmp_path: Path,
) -> None:
    FLAKY.update(fail_on=None, calls=0)
    spec = RunSpec(
        model="flaky/x",
        setting="animal-welfare",
        scenario="lie-to-lab",
        tiers="free",
        log_dir=str(tmp_path),
        display="none",
    )
    outcome = execute_antilab(spec, echo=lambda _: None)
    assert outcome.notes == [SELF_REPORT_NOTE.format(scenarios="lie-to-lab")]
    tagged = execute_antilab(spec.replace(self_tag=True), echo=lambda _: None)
    assert tagged.notes == []
    helpful = execute_antilab(spec.replace(setting="helpful-only"), echo=lambda _: None)
    assert helpful.notes == []
