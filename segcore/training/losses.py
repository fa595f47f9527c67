"""Cross-entropy + soft Dice, both blind to unlabelled pixels."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from segcore.data.classes import IGNORE_INDEX


def soft_dice_loss(probs: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - mean soft Dice of class probabilities over all classes, pooled over the whole batch.

    Every class counts, background included: in many biomedical sets (membranes in EM) the class stored as 0 is
    the one users care about. Pooling over the batch keeps it stable for crops without some class.
    """
    num_classes = probs.shape[1]
    valid = (target != IGNORE_INDEX).unsqueeze(1)
    probs = probs * valid
    onehot = F.one_hot(target.clamp(0, num_classes - 1), num_classes).permute(0, 3, 1, 2) * valid
    dims = (0, 2, 3)
    inter = (probs * onehot).sum(dims)
    denom = probs.sum(dims) + onehot.sum(dims)
    return 1 - ((2 * inter + eps) / (denom + eps)).mean()


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy over labelled pixels; with ``weights`` (N,H,W) their weighted mean (the U-Net paper's
    weight map for instance masks: gaps between touching objects count ~10x)."""
    if weights is None:
        return F.cross_entropy(logits, target, ignore_index=IGNORE_INDEX)
    per_pixel = F.cross_entropy(logits, target, ignore_index=IGNORE_INDEX, reduction="none")
    weights = weights.float() * (target != IGNORE_INDEX)
    return (per_pixel * weights).sum() / weights.sum().clamp_min(1e-6)


def segmentation_loss(output, target: torch.Tensor, aux_weight: float = 0.4,
                      weights: torch.Tensor | None = None) -> torch.Tensor:
    """CE + Dice on the main logits; models that return (main, aux) add ``aux_weight`` x CE on the aux logits.
    ``weights``: per-pixel weights of the cross-entropy (None: all equal)."""
    main, aux = output if isinstance(output, tuple) else (output, None)
    if not (target != IGNORE_INDEX).any():
        return main.sum() * 0.0  # a fully unlabelled crop carries no signal, but keeps the graph
    main = main.float()
    loss = cross_entropy(main, target, weights) + soft_dice_loss(main.softmax(1), target)
    if aux is not None:
        loss = loss + aux_weight * cross_entropy(aux.float(), target, weights)
    return loss


def loss_from_probabilities(probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The same CE + Dice loss for probabilities (validation runs tiled and blends probabilities, not logits)."""
    if not (target != IGNORE_INDEX).any():
        return probs.new_zeros(())
    nll = F.nll_loss(probs.clamp_min(1e-7).log(), target, ignore_index=IGNORE_INDEX)
    return nll + soft_dice_loss(probs, target)
