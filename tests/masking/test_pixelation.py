"""The pixelation itself, on raw pixels (no codec between): what is left of a masked face is
at most BLOCKS × BLOCKS flat blocks, each the mean of its pixels; the requester's pixels are
left exactly as they were; a manual mask drawn over the requester still masks them."""

from __future__ import annotations

import numpy as np
from skimage import data

from kustosz.masking import obscure
from kustosz.masking.video import _merge


def astronaut() -> np.ndarray:
    return data.astronaut().copy()  # 512×512 RGB, her face near (180-270, 60-180)


def test_a_face_becomes_a_few_flat_blocks_of_its_mean_colours() -> None:
    img, src = astronaut(), astronaut()
    box = (170, 50, 280, 190)  # 110×140 px
    obscure.pixelate(img, box)
    region = img[50:190, 170:280].reshape(-1, 3)
    colours = np.unique(region, axis=0)
    assert len(colours) <= obscure.BLOCKS ** 2
    # block = ceil(140 / 5) = 28 px: every 28×28 block (clipped at the edge) is one colour
    for y in range(50, 190, 28):
        for x in range(170, 280, 28):
            block = img[y:min(y + 28, 190), x:min(x + 28, 280)].reshape(-1, 3)
            assert len(np.unique(block, axis=0)) == 1
            mean = src[y:min(y + 28, 190), x:min(x + 28, 280)].reshape(-1, 3).mean(axis=0)
            assert np.abs(block[0].astype(float) - mean).max() <= 0.5  # the block's mean
    outside = np.ones(img.shape[:2], dtype=bool)
    outside[50:190, 170:280] = False
    assert np.array_equal(img[outside], src[outside])


def test_small_box_is_never_a_fine_mosaic() -> None:
    img = astronaut()
    obscure.pixelate(img, (200, 100, 220, 116))  # 20×16 px: blocks of MIN_BLOCK (8 px)
    assert len(np.unique(img[100:116, 200:220].reshape(-1, 3), axis=0)) <= 6


def test_requester_pixels_are_spared_exactly() -> None:
    img, src = astronaut(), astronaut()
    keep = np.zeros(img.shape[:2], dtype=bool)
    keep[50:120, 170:230] = True
    obscure.pixelate(img, (170, 50, 280, 190), keep)
    assert np.array_equal(img[keep], src[keep])
    rest = np.zeros_like(keep)
    rest[50:190, 170:280] = True
    rest &= ~keep
    assert not np.array_equal(img[rest], src[rest])


def test_held_boxes_of_one_face_merge_and_apart_ones_do_not() -> None:
    moving = [(100, 100, 150, 160), (104, 101, 154, 161), (110, 102, 160, 162)]
    apart = (300, 100, 350, 160)
    merged = _merge([*moving, apart])
    assert sorted(merged) == [(100, 100, 160, 162), apart]
