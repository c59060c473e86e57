"""``torchvision.ops`` mapped onto shouxie.core: tensors in, numpy through shouxie, tensors out.

The dtype follows torchvision: a floating input keeps its dtype (float16 included: shouxie
computes in float64, the result is cast back), integer boxes give float32 (torchvision's
``_upcast``). ``sigmoid_focal_loss`` is a ``torch.autograd.Function`` whose backward is
shouxie's analytic gradient (:func:`shouxie.core.sigmoid_focal_loss_grad`), so the peer tests
that back-propagate through the loss check that gradient against torch's autograd.
"""
from __future__ import annotations

import torch

from shouxie import core


def _numpy(t):
    return t if t is None else t.detach().cpu().numpy()


def _iou_dtype(a: torch.Tensor, b: torch.Tensor) -> torch.dtype:
    dtype = torch.promote_types(a.dtype, b.dtype)
    return dtype if dtype.is_floating_point else torch.float32


def _pairwise(kernel, name: str):
    def op(boxes1: torch.Tensor, boxes2: torch.Tensor, *args) -> torch.Tensor:
        out = kernel(_numpy(boxes1), _numpy(boxes2), *args)
        return torch.from_numpy(out).to(_iou_dtype(boxes1, boxes2))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``torchvision.ops.{name}`` through :func:`shouxie.core.{kernel.__name__}`."
    return op


box_iou = _pairwise(core.box_iou, "box_iou")
generalized_box_iou = _pairwise(core.generalized_box_iou, "generalized_box_iou")
distance_box_iou = _pairwise(core.distance_box_iou, "distance_box_iou")
complete_box_iou = _pairwise(core.complete_box_iou, "complete_box_iou")


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """``torchvision.ops.nms`` through :func:`shouxie.core.nms` (int64 indices)."""
    return torch.from_numpy(core.nms(_numpy(boxes), _numpy(scores), iou_threshold))


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """``torchvision.ops.batched_nms`` through :func:`shouxie.core.batched_nms`."""
    return torch.from_numpy(core.batched_nms(_numpy(boxes), _numpy(scores), _numpy(idxs), iou_threshold))


class _FocalLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs, targets, alpha, gamma, reduction):
        x, t = _numpy(inputs), _numpy(targets)
        ctx.save_for_backward(inputs, targets)
        ctx.options = alpha, gamma, reduction
        loss = core.sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma, reduction=reduction)
        return torch.as_tensor(loss).to(inputs.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        inputs, targets = ctx.saved_tensors
        alpha, gamma, reduction = ctx.options
        grad = torch.from_numpy(core.sigmoid_focal_loss_grad(_numpy(inputs), _numpy(targets), alpha=alpha,
                                                             gamma=gamma)).to(inputs.dtype)
        if reduction == "mean":
            grad = grad / max(inputs.numel(), 1)
        return grad * grad_output, None, None, None, None


def sigmoid_focal_loss(inputs: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2,
                       reduction: str = "none") -> torch.Tensor:
    """``torchvision.ops.sigmoid_focal_loss`` through :func:`shouxie.core.sigmoid_focal_loss`."""
    return _FocalLoss.apply(inputs, targets, alpha, gamma, reduction)
