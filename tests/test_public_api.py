"""The public surface: every name in __all__ resolves; importing the package stays light."""

import subprocess
import sys

import cme_async


def test_every_public_name_resolves() -> None:
    for name in cme_async.__all__:
        assert getattr(cme_async, name) is not None, name
    assert set(cme_async._LAZY) <= set(cme_async.__all__)
    assert cme_async.Entity is cme_async.types.Entity


def test_import_does_not_load_models_aiohttp_or_the_emulator() -> None:
    code = (
        "import sys, cme_async\n"
        "heavy = [m for m in ('cme_async._generated.namespaces', 'cme_async._generated.structs',"
        " 'cme_async.types', 'aiohttp', 'uvicorn', 'cme_async.testing') "
        "if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_namespaces_load_on_first_use(signer: cme_async.LocalSigner) -> None:
    client = cme_async.AsyncCmeClient(signer, "u")
    assert type(client.material).__name__ == "MaterialActions"
    assert client.material is client.material
    assert {"material", "team", "project", "task"} <= set(dir(client))
    await client.aclose()
