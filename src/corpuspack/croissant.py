"""Croissant (ML Commons JSON-LD) metadata of a Parquet release, built with mlcroissant."""

from __future__ import annotations

from typing import Any

from corpuspack.document import COLUMNS

RECORD_SET = "documents"
FILE_SET = "parquet-files"


def croissant(descriptor: dict[str, Any], files: list[tuple[str, int, str]],
              url: str | None) -> dict[str, Any]:
    """The Croissant document of a release: one FileObject (with sha256) per Parquet file,
    a FileSet over them, and one RecordSet whose fields are the document columns."""
    import mlcroissant as mlc

    types = {"string": mlc.DataType.TEXT, "integer": mlc.DataType.INTEGER,
             "number": mlc.DataType.FLOAT, "date": mlc.DataType.DATE,
             "object": mlc.DataType.TEXT}
    distribution: list[Any] = [
        mlc.FileObject(id=path, name=path.rsplit("/", 1)[-1], content_url=path,
                       content_size=f"{size} B", encoding_formats=["application/x-parquet"],
                       sha256=sha)
        for path, size, sha in files
    ]
    distribution.append(mlc.FileSet(id=FILE_SET, name=FILE_SET, includes=["data/*.parquet"],
                                    encoding_formats=["application/x-parquet"]))
    fields = [
        mlc.Field(id=f"{RECORD_SET}/{c.name}", name=c.name, description=c.description,
                  data_types=[types[c.kind]],
                  source=mlc.Source(file_set=FILE_SET, extract=mlc.Extract(column=c.name)))
        for c in COLUMNS
    ]
    licenses = [str(lic.get("path") or lic.get("name") or lic.get("title"))
                for lic in descriptor.get("licenses", [])] or ["NOASSERTION"]
    metadata = mlc.Metadata(
        name=descriptor.get("name", "corpus"),
        description=descriptor.get("description") or descriptor.get("title") or "",
        url=url or descriptor.get("homepage"),
        version=descriptor.get("version"),
        license=licenses,
        keywords=list(descriptor.get("keywords", [])) or None,
        in_language=list(descriptor.get("corpuspack", {}).get("statistics", {})
                         .get("languages", {})) or None,
        cite_as=f"{descriptor.get('title') or descriptor.get('name')}, version "
                f"{descriptor.get('version')}",
        distribution=distribution,
        record_sets=[mlc.RecordSet(id=RECORD_SET, name=RECORD_SET,
                                   description="One record per document, sorted by id.",
                                   fields=fields, key=f"{RECORD_SET}/id")],
    )
    return dict(metadata.to_json())
