from __future__ import annotations

from pathlib import Path

import pytest

from agent.bot.project import load_bot
from tests.helpers.bot_factory import shopbot_copy
from tests.helpers.shared import SHARED  # noqa: F401 (tests import it from here)
from tests.helpers.tiny_model import make_tiny_bert

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]


# Tests that train a model take seconds to minutes each: `pytest -m "not slow"` leaves them out.
TRAINING_FIXTURES = {"trained_shopbot", "tiny_bert"}
TRAINING_MODULES = {
    "test_chinese_bot",
    "test_chinese_nlu",
    "test_entity_extraction",
    "test_example_bots",
    "test_multilingual_encoder",
    "test_nlu_benchmark",
    "test_openapi_contract",
    "test_rasa_test_suites",
    "test_scaleout",
    "test_train_and_serve",
    "test_trainer_helpers",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in TRAINING_MODULES or TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shopbot_dir() -> Path:
    return FIXTURES / "shopbot"


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, shopbot_dir) -> Path:
    bot = load_bot(shopbot_dir)
    words = [e.text for e in bot.nlu.examples] + ["where is my parcel", "sunday hours"]
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), words)


@pytest.fixture(scope="session")
def trained_shopbot(tmp_path_factory, shopbot_dir, tiny_bert):
    """Train the fixture bot once on the tiny encoder; tests get the artifact path."""
    from agent.train import train_bot

    out = tmp_path_factory.mktemp("models")
    # work on a copy so a test can prove the artifact does not need the sources
    src = shopbot_copy(shopbot_dir, tmp_path_factory.mktemp("src") / "shopbot", epochs=8)
    return train_bot(src, out, base_model=str(tiny_bert))
