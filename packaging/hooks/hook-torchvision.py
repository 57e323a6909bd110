"""PyInstaller hook for torchvision (replaces the stock one from pyinstaller-hooks-contrib).

The stock hook asks for ``torchvision._C``, a Python extension that torchvision 0.29 no longer
has. Its compiled operators now live in ``_C_stable`` and ``image_stable`` (``.so`` / ``.pyd``
files in the package folder) that ``torch.ops.load_library`` opens by path, so PyInstaller's
import analysis never sees them. Without them the frozen app fails with
``operator torchvision::nms does not exist`` as soon as MTCNN runs.
"""

from __future__ import annotations

from PyInstaller.utils.hooks import collect_dynamic_libs

#: The operator libraries torchvision loads by path (``torchvision/extension.py``, ``io/image.py``).
OPERATOR_LIBRARIES = ("_C_stable", "image_stable")
# ``_C_stable.so`` on Linux/macOS, ``_C_stable.pyd`` on Windows (a tagged name also matches).
_SUFFIXES = ("*.so", "*.pyd", "*.dll", "*.dylib")


def operator_libraries() -> list[tuple[str, str]]:
    """``(source, destination folder)`` of torchvision's operator libraries.

    Returns
    -------
    list of tuple of str
        The files go to ``torchvision/`` in the bundle, where ``_get_extension_path`` looks.
    """
    patterns = [f"{name}{suffix}" for name in OPERATOR_LIBRARIES for suffix in _SUFFIXES]
    return collect_dynamic_libs("torchvision", search_patterns=patterns)


binaries = operator_libraries()
hiddenimports = ["torchvision.extension", "torchvision.io.image"]
# Keep the .py sources next to the archive: TorchScript and torch's registrations read them.
module_collection_mode = "pyz+py"
