"""Fine-tune an encoder plus intent (and entity) heads: stratified validation split, early stopping,
fixed seed, calibration. One job per module:

    data          split, typo augmentation, tokenising, batching
    optimiser     frozen layers, parameter groups, learning rates, schedule
    loop          train_nlu: head fit, epochs, evaluation, early stopping
    frozen_cache  the frozen bottom layers' output, computed once on large data
    calibration   temperature, neighbours' vote, sparse mix, fallback thresholds
    result        TrainingResult, EpochMetrics, Reporter

The neighbours' vote mix (choose_knn_mix) lives with the index in agent.nlu.neighbours."""

from agent.nlu.training.calibration import calibrate, scored
from agent.nlu.training.data import stratified_split, typo
from agent.nlu.training.loop import train_nlu
from agent.nlu.training.result import EpochMetrics, Reporter, SilentReporter, TrainingResult

__all__ = [
    "EpochMetrics",
    "Reporter",
    "SilentReporter",
    "TrainingResult",
    "calibrate",
    "scored",
    "stratified_split",
    "train_nlu",
    "typo",
]
