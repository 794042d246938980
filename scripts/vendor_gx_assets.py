"""Vendor the CSS/JS that GX Data Docs load from public CDNs into plugins/mp_ops_ui/gx_assets/.

GX's templates point at jsdelivr, unpkg, cdnjs, bootstrapcdn and code.jquery.com: offline, on
an intranet or behind China's network, the Data Docs index shows no validation list. The plugin
serves these files from the project's own install instead, rewriting the URLs when it serves a
page (plugins/mp_ops_ui/gx_docs.py). The files are committed (1.4 MB), not fetched at set-up:
a fresh clone then works with no registry at all, and nothing downloads at run time.

Each file comes from the npm registry tarball of the exact version the CDN URL names (for the
open ranges ``vega@5``, ``vega-lite@5``, ``vega-embed@6``: the newest release in that range at
vendoring time), unpacked as published. ``assets.json`` records CDN URL -> local file, package,
version, licence and sha256; tests/ops/test_gx_docs.py checks every file against its hash.

Re-vendor (needs ``npm`` and the registry; run from the repo root):

    python scripts/vendor_gx_assets.py
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "plugins" / "mp_ops_ui" / "gx_assets"

# (CDN URL as GX writes it, npm package, version, file inside the package)
ASSETS = [
    ("https://code.jquery.com/jquery-3.7.1.min.js", "jquery", "3.7.1", "dist/jquery.min.js"),
    ("https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css", "bootstrap", "4.3.1",
     "dist/css/bootstrap.min.css"),
    ("https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js", "bootstrap", "4.3.1",
     "dist/js/bootstrap.min.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js", "popper.js", "1.12.9",
     "dist/umd/popper.min.js"),
    ("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css", "bootstrap-table", "1.19.1",
     "dist/bootstrap-table.min.css"),
    ("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js", "bootstrap-table", "1.19.1",
     "dist/bootstrap-table.min.js"),
    ("https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
     "bootstrap-table", "1.19.1", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"),
    ("https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css",
     "bootstrap-table", "1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.css"),
    ("https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
     "bootstrap-table", "1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
    ("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css",
     "bootstrap-datepicker", "1.9.0", "dist/css/bootstrap-datepicker.min.css"),
    ("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js",
     "bootstrap-datepicker", "1.9.0", "dist/js/bootstrap-datepicker.min.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css", "@fortawesome/fontawesome-free",
     "6.6.0", "css/all.min.css"),
    *[(None, "@fortawesome/fontawesome-free", "6.6.0", f"webfonts/{name}.woff2")
      for name in ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")],
    ("https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css",
     "@forevolve/bootstrap-dark", "1.1.0", "dist/css/bootstrap-prefers-dark.min.css"),
    ("https://cdn.jsdelivr.net/npm/vega@5", "vega", "5.33.1", "build/vega.min.js"),
    ("https://cdn.jsdelivr.net/npm/vega-lite@5", "vega-lite", "5.23.0", "build/vega-lite.min.js"),
    ("https://cdn.jsdelivr.net/npm/vega-embed@6", "vega-embed", "6.29.0", "build/vega-embed.min.js"),
]  # fmt: skip


def main() -> None:
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        tarballs: dict[tuple[str, str], tuple[Path, dict]] = {}
        for url, package, version, inner in ASSETS:
            if (package, version) not in tarballs:
                name = subprocess.run(["npm", "pack", f"{package}@{version}", "--silent"], cwd=tmp, check=True,
                                      capture_output=True, text=True).stdout.strip().splitlines()[-1]  # fmt: skip
                tgz = Path(tmp) / name
                with tarfile.open(tgz) as tar:
                    meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
                tarballs[package, version] = (tgz, meta)
            tgz, meta = tarballs[package, version]
            with tarfile.open(tgz) as tar:
                data = tar.extractfile(f"package/{inner}").read()  # type: ignore[union-attr]
            local = f"{package.lstrip('@').replace('/', '__')}@{version}/{inner}"
            target = OUT / local
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            records.append({"cdn_url": url, "local": local, "package": package, "version": version,
                            "license": meta.get("license"), "sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
    (OUT / "assets.json").write_text(json.dumps(records, indent=1) + "\n")
    print(f"{len(records)} files into {OUT}")


if __name__ == "__main__":
    main()
