"""Croissant (ML Commons JSON-LD) metadata of a Parquet release, built with mlcroissant."""

from __future__ import annotations

from typing import Any

from corpuspack.document import COLUMNS

RECORD_SET = "documents"
FILE_SET = "parquet-files"


def croissant(descriptor: dict[str, Any], files: list[tuple[str, int, str]],
              url: str | None, splits: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The Croissant document of a release: one FileObject (with sha256) per Parquet file,
    a FileSet over them, and one RecordSet whose fields are the document columns.

    ``splits`` (split name -> its Parquet files), for a release with held-out splits: a
    FileSet ``split-<name>`` over each split's files and a RecordSet ``<name>`` reading
    only them, beside ``documents``, which reads every file."""
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
    # the plain layout's pattern; files in subset folders are listed one by one
    everything = ["data/*.parquet"] if all(p.count("/") == 1 for p, _, _ in files) \
        else [p for p, _, _ in files]
    distribution.append(mlc.FileSet(id=FILE_SET, name=FILE_SET, includes=everything,
                                    encoding_formats=["application/x-parquet"]))

    def fields(record_set: str, file_set: str) -> list[Any]:
        return [mlc.Field(id=f"{record_set}/{c.name}", name=c.name, description=c.description,
                          data_types=[types[c.kind]],
                          source=mlc.Source(file_set=file_set,
                                            extract=mlc.Extract(column=c.name)))
                for c in COLUMNS]

    record_sets = [mlc.RecordSet(id=RECORD_SET, name=RECORD_SET,
                                 description="One record per document, sorted by id.",
                                 fields=fields(RECORD_SET, FILE_SET), key=f"{RECORD_SET}/id")]
    for split, paths in (splits or {}).items():
        file_set = f"split-{split}"
        distribution.append(mlc.FileSet(id=file_set, name=file_set, includes=list(paths),
                                        encoding_formats=["application/x-parquet"]))
        record_sets.append(mlc.RecordSet(
            id=split, name=split, description=f"The documents of the {split} split.",
            fields=fields(split, file_set), key=f"{split}/id"))
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
        record_sets=record_sets,
    )
    return dict(metadata.to_json())
