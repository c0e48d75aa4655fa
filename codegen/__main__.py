"""``python -m codegen [--check]``: regenerate the SDK or check the committed output."""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from codegen.loader import load
from codegen.render_api import mixin_module, namespaces_module
from codegen.render_meta import (
    actions_doc,
    catalogue_json,
    errors_module,
    exports_module,
    models_module,
)
from codegen.render_models import (
    HEADER,
    action_module,
    dicts_module,
    enums_module,
    structs_module,
)
from codegen.schema import CatalogueError

ROOT = Path(__file__).resolve().parent.parent
GENERATED = "cme_async/_generated"
DOC = "docs/actions.md"


def render(spec_dir: Path) -> dict[str, str]:
    """Every generated file, keyed by its path relative to the repository (unformatted)."""
    cat = load(spec_dir)
    out = {
        f"{GENERATED}/__init__.py": HEADER
        + '"""Code generated from ``specs/``: models, action namespaces, the catalogue."""\n',
        f"{GENERATED}/structs.py": structs_module(cat),
        f"{GENERATED}/enums.py": enums_module(cat),
        f"{GENERATED}/dicts.py": dicts_module(cat),
        f"{GENERATED}/models.py": models_module(cat),
        f"{GENERATED}/namespaces.py": namespaces_module(cat),
        f"{GENERATED}/mixin.py": mixin_module(cat),
        f"{GENERATED}/_exports.py": exports_module(cat),
        f"{GENERATED}/_errors.py": errors_module(cat),
        f"{GENERATED}/catalogue.json": catalogue_json(cat),
        DOC: actions_doc(cat),
    }
    for cls in sorted({a.action_class for a in cat.actions.values()}):
        out[f"{GENERATED}/{cls.lower()}.py"] = action_module(cat, cls)
    return out


def _ruff() -> list[str]:
    local = Path(sys.executable).parent / "ruff"
    if local.exists():
        return [str(local)]
    found = shutil.which("ruff")
    return [found] if found else [sys.executable, "-m", "ruff"]


def fmt(rel: str, source: str) -> str:
    """Sort imports and ``__all__``, then format, with the repository's ruff settings."""
    if not rel.endswith(".py"):
        return source
    name = str(ROOT / rel)
    for args in (
        [
            "check",
            "--fix-only",
            "--exit-zero",
            "--select",
            "I,RUF022",
            "--stdin-filename",
            name,
            "-",
        ],
        ["format", "--stdin-filename", name, "-"],
    ):
        proc = subprocess.run(
            [*_ruff(), *args], input=source, capture_output=True, text=True, cwd=ROOT, check=False
        )
        if proc.returncode != 0:
            raise SystemExit(f"ruff {args[0]} failed on {rel}:\n{proc.stderr}\n{source[:2000]}")
        source = proc.stdout
    return source


def generate(spec_dir: Path) -> dict[str, str]:
    return {rel: fmt(rel, text) for rel, text in render(spec_dir).items()}


def write(files: dict[str, str], root: Path) -> None:
    gen = root / GENERATED
    gen.mkdir(parents=True, exist_ok=True)
    for stale in [*gen.glob("*.py"), *gen.glob("*.json")]:
        if f"{GENERATED}/{stale.name}" not in files:
            stale.unlink()
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def check(files: dict[str, str], root: Path) -> list[str]:
    """Paths whose committed content differs from a fresh run (or that should not exist)."""
    with tempfile.TemporaryDirectory(prefix="cme-codegen-") as tmp:
        write(files, Path(tmp))
        differ = []
        for rel, text in sorted(files.items()):
            path = root / rel
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differ.append(rel)
                if path.exists():
                    diff = difflib.unified_diff(
                        path.read_text(encoding="utf-8").splitlines(),
                        (Path(tmp) / rel).read_text(encoding="utf-8").splitlines(),
                        f"committed/{rel}",
                        f"fresh/{rel}",
                        lineterm="",
                        n=1,
                    )
                    print("\n".join(list(diff)[:20]), file=sys.stderr)
        gen = root / GENERATED
        for extra in sorted([*gen.glob("*.py"), *gen.glob("*.json")]):
            rel = f"{GENERATED}/{extra.name}"
            if rel not in files:
                differ.append(rel + " (not generated any more)")
    return differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary folder and fail if the committed output differs",
    )
    parser.add_argument("--specs", type=Path, default=ROOT / "specs")
    parser.add_argument("--out", type=Path, default=ROOT, help="repository root to write into")
    args = parser.parse_args(argv)
    try:
        files = generate(args.specs)
    except CatalogueError as exc:
        print(f"codegen: catalogue error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        differ = check(files, args.out)
        if differ:
            print(
                "codegen: generated output is stale; run `make codegen`. Differing files:",
                file=sys.stderr,
            )
            for rel in differ:
                print(f"  {rel}", file=sys.stderr)
            return 1
        print(f"codegen: {len(files)} generated files are up to date")
        return 0
    write(files, args.out)
    print(f"codegen: wrote {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
