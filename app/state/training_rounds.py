"""Retraining rounds on the training curves (issue #17): each Retrain is drawn after the runs before it, and the
log says what the round gained. Plain Python, kept by :class:`app.controllers.training.TrainingController`."""

from __future__ import annotations

import math

from app.state.training_progress import TrainingProgress
from segcore.durations import human_minutes

MAX_EPOCHS = 100_000  # a retraining run with a time budget: the time decides (segcore train -e 1000 --time-limit)


def start_note(minutes: float, retrain: bool) -> str:
    """What the progress bar says as a run with a budget of ``minutes`` starts ("" without one): Retrain keeps
    the model's recipe, so nothing is planned then, only the budget is new."""
    if not minutes:
        return ""
    if retrain:
        return f"retraining for {human_minutes(minutes)}: reading the images"
    return f"planning {human_minutes(minutes)} for this folder and machine"


def accepted_note(session) -> str:
    """What a run starting on ``session``'s folder says about the masks it learns from that a model or proposal
    made ("" when none): unless corrected, it learns its own output as if someone had checked it."""
    made = [o for s in session.samples if s.mask is not None and (o := session.origin(s.image)) is not None]
    if not made:
        return ""
    unchecked = sum(not o.corrected for o in made)
    return (f" ({len(made)} mask{'s' if len(made) != 1 else ''} accepted from a prediction or proposal, "
            f"{unchecked} not corrected by hand)")


class TrainingRounds:
    """Where the curves of the current chain of runs end, and each round's best validation Dice.

    Train starts a chain, Continue lengthens its last round, Retrain adds a round drawn after the others.
    """

    def __init__(self) -> None:
        self.offset = 0  # x of the current run's epoch 0 on the curves
        self.plotted = 0  # epochs drawn so far, over all rounds
        self.dice: list[float] = []  # best validation Dice of each round (NaN: it had no validation images)

    def last_length(self) -> int:
        """Epochs of the last round (at least 1): what a round of the same budget may be expected to take."""
        return max(self.plotted - self.offset, 1)

    def label(self) -> str:
        """The name of the next round: ``"round 2"``."""
        return f"round {len(self.dice) + 1}"

    def begin(self, progress: TrainingProgress, retrain: bool, minutes: float, continued: bool) -> float | None:
        """A run starts; returns the x where a retraining round starts on the curves (None for Train, Continue
        and a first round). A retraining round for ``minutes`` (its epochs unknown: time ends it) is paced on
        ``progress`` by the last round's length."""
        if not retrain:
            if not continued:
                self.offset, self.plotted, self.dice = 0, 0, []
            return None
        if minutes:
            progress.plan(MAX_EPOCHS, minutes * 60, self.last_length())
        self.offset = self.plotted
        return self.plotted or None

    def end(self, epochs_done: int, best_dice: float, retrain: bool) -> str | None:
        """A run ended after ``epochs_done`` epochs; returns the line saying what a retraining round gained over
        the round before, when both were validated."""
        self.plotted = self.offset + epochs_done
        if retrain and epochs_done == 0:
            return None  # a round stopped before its first epoch is no round: the next Retrain takes its name
        line = None
        if retrain and self.dice and not math.isnan(best_dice) and not math.isnan(self.dice[-1]):
            line = (f"{self.label()}: best validation Dice {best_dice:.3f}, {best_dice - self.dice[-1]:+.3f} on "
                    f"round {len(self.dice)}")
        if retrain or not self.dice:
            self.dice.append(best_dice)
        else:
            self.dice[-1] = best_dice  # Continue: the same round, trained longer
        return line
