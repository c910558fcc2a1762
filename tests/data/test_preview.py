"""preview.png: every saved dataset carries a contact sheet of its first images."""

import cv2
import numpy as np

from onnx_datagen.data.dataset import Dataset
from onnx_datagen.data.preview import GAP, contact_sheet


def test_contact_sheet_tiles_images_row_major_enlarged_pixel_for_pixel():
    pixels = np.arange(5 * 4 * 4 * 1, dtype=np.uint8).reshape(5, 4, 4, 1)
    sheet = contact_sheet(pixels)
    tile = 64  # 4 px enlarged 16x to reach the minimum tile side
    assert sheet.shape == (2 * tile + GAP, 3 * tile + GAP * 2, 1)  # 5 images: 3 columns, 2 rows
    fifth = sheet[tile + GAP :, tile + GAP : 2 * tile + GAP]  # row 1, column 1
    assert np.array_equal(fifth, pixels[4].repeat(16, axis=0).repeat(16, axis=1))
    assert (sheet[tile + GAP :, 2 * (tile + GAP) :] == 255).all()  # the empty sixth cell stays white


def test_saved_dataset_has_a_preview_of_its_first_images(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.standard_normal((70, 3, 8, 8)).astype(np.float32)
    dataset = Dataset(images, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 1.0)
    dataset.manifest = {"status": "complete"}
    out = dataset.save(tmp_path / "set", ["png"])
    assert dataset.manifest["preview"] == "preview.png"
    sheet = cv2.imread(str(out / "preview.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    tile = 64
    assert sheet.shape == (8 * tile + 7 * GAP, 8 * tile + 7 * GAP, 3)  # the first 64 of 70 images
    first_png = cv2.imread(str(out / "png" / "000000.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    assert np.array_equal(sheet[:tile, :tile], first_png.repeat(8, axis=0).repeat(8, axis=1))
