"""PyInstaller hook for facenet-pytorch (there is no stock one).

MTCNN loads its weights from ``os.path.join(os.path.dirname(__file__), '../data/pnet.pt')``.
That path only resolves when the folder ``facenet_pytorch/models`` exists on disk, so the
package is collected as source files as well as into the archive (``pyz+py``), together with
its ``data/*.pt`` weight files.
"""

from __future__ import annotations

from PyInstaller.utils.hooks import collect_data_files


def weight_files() -> list[tuple[str, str]]:
    """``(source, destination folder)`` of the MTCNN weight files (``data/onet.pt`` ...).

    Returns
    -------
    list of tuple of str
        The ``.pt`` files; destination ``facenet_pytorch/data``.
    """
    return collect_data_files("facenet_pytorch", includes=["data/*.pt"])


datas = weight_files()
module_collection_mode = "pyz+py"
# Only the training helpers import it; tensorflow2pytorch is a conversion script.
excludedimports = ["tensorflow"]
