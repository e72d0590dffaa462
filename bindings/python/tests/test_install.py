"""The package under test is the installed one (site-packages), with its own libgrilly."""

import os
import pathlib

import grilly


def test_imported_from_installed_location():
    pkg = pathlib.Path(grilly.__file__).resolve().parent
    assert "site-packages" in pkg.parts or "dist-packages" in pkg.parts, pkg
    assert (pkg / "libgrilly.so.0").is_file()
    ext = [p for p in pkg.iterdir() if p.name.startswith("__grilly") and p.suffix == ".so"]
    assert ext, list(pkg.iterdir())
    # The low-level module is the private SWIG module of the same package.
    assert pathlib.Path(grilly._grilly.__file__).resolve().parent == pkg


def test_extension_loads_packaged_library():
    # The extension resolves libgrilly.so.0 through its $ORIGIN rpath: the loaded copy is the
    # package's, not one from the build tree.
    pkg = pathlib.Path(grilly.__file__).resolve().parent
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "libgrilly" in line}
    assert libs == {str(pkg / "libgrilly.so.0")}, libs


def test_version():
    assert grilly.__version__ == "0.1.0"
    assert grilly._grilly.grl_version() == (0 << 22) | (1 << 12) | 0
    assert os.path.basename(grilly._grilly.__file__) == "_grilly.py"
