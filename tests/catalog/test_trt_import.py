"""Importing a Target Response Time table from CSV, and writing a catalog back as TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from opmetrics.catalog import default_catalog, load_catalog, parse_catalog
from opmetrics.catalog.assumptions import assumed_values
from opmetrics.catalog.model import Source
from opmetrics.catalog.trt_import import import_trt_csv
from opmetrics.catalog.write import catalog_toml, write_catalog
from opmetrics.errors import CatalogError, ExitCode
from tests.cli_runner import run_cli

HEADER = "srv,execution,device_type,seconds,source\n"


def _same(a: object, b: object) -> bool:
    def dump(c: object) -> object:
        return c.model_dump(exclude={"sha256", "path"})  # type: ignore[attr-defined]

    return dump(a) == dump(b)


def test_the_shipped_catalog_reads_back_from_its_toml(tmp_path: Path) -> None:
    cat = default_catalog()
    path = write_catalog(cat, tmp_path / "catalog.toml")
    again = load_catalog(path)
    assert _same(cat, again)
    assert again.srvs["8.14.1"].name == "Communications Hub Status Update – Install Success"
    assert again.regions["Central"].service_provider == "Telefónica"
    assert again.srvs["11.2"].source_of("business_process") == Source.ASSUMED
    assert again.srvs["6.23"].source_of("device_types") == cat.srvs["6.23"].source_of(
        "device_types"
    )


def test_strings_that_need_escaping_read_back() -> None:
    data = default_catalog().model_dump(mode="json", by_alias=True, exclude={"sha256", "path"})
    data["meta"]["title"] = 'quote " backslash \\ tab \t newline \n bell \x07 – é'
    cat = default_catalog().model_validate(data)
    again = parse_catalog(catalog_toml(cat).encode("utf-8"), "t")
    assert again.meta.title == data["meta"]["title"]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (HEADER + "9.9,on_demand,,30,seed\n", "line 2, column srv", "unknown SRV '9.9'"),
        (
            HEADER + "2.2,on_demand,GSME,abc,seed\n",
            "line 2, column seconds",
            "'abc' is not a number",
        ),
        (HEADER + "2.2,on_demand,GSME,0,seed\n", "line 2, column seconds", "must be above 0 s"),
        (HEADER + "2.2,on_demand,GSME,nan,seed\n", "line 2, column seconds", "must be above 0 s"),
        (
            "srv,execution,device_type,source\n2.2,on_demand,,seed\n",
            "line 1, column seconds",
            "missing column",
        ),
        (
            "srv,execution,device type,secs,seconds,source\n",
            "line 1, column secs",
            "unknown column",
        ),
        (HEADER + "\n2.2,future_dated,,30,seed\n", "line 3, column srv", "never future-dated"),
        (
            HEADER + "2.2,on_demand,PPMID,30,seed\n",
            "line 2, column device_type",
            "does not target a PPMID",
        ),
        (
            HEADER + "2.2,on_demand,METER,30,seed\n",
            "line 2, column device_type",
            "unknown device type 'METER'",
        ),
        (HEADER + "2.2,sometimes,,30,seed\n", "line 2, column execution", "not an execution"),
        (
            HEADER + "2.2,on_demand,,30,confirmed\n",
            "line 2, column source",
            "'confirmed' is not a source",
        ),
        (HEADER + "2.2,on_demand,,30\n", "line 2", "4 fields where the header has 5"),
        (HEADER + "2.2,on_demand,,30,seed\n2.2,on-demand,,31,seed\n", "line 3", "as line 2"),
        (HEADER, "line 1", "no rules"),
        ("", "line 1", "empty"),
        (
            HEADER.strip() + ",command_variant\n2.2,on_demand,,3,seed,4\n",
            "line 2, column command_variant",
            "does not take Command Variant 4",
        ),
    ],
)
def test_bad_csv_is_one_line_naming_line_and_column(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    p = tmp_path / "trt.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as e:
        import_trt_csv(default_catalog(), p)
    assert e.value.exit_code == ExitCode.CATALOG
    shown = str(e.value)
    assert shown.startswith(f"catalog {p}: {where}: "), shown
    assert message in shown and "\n" not in shown


def test_imported_rules_decide_the_trt_and_their_source(tmp_path: Path) -> None:
    p = tmp_path / "trt.csv"
    p.write_text(
        "SRV,Execution,Device type,Seconds,Source\n"
        ",on_demand,,25,seed\n"  # replaces the shipped default rule, keeps its id
        "2.2,on_demand,GSME,60,seed\n"
        "2.2,on_demand,ESME,20,assumed\n"
        "6.23,future_dated,,45,DUIS schema\n",
        encoding="utf-8",
    )
    cat = import_trt_csv(default_catalog(), p)
    assert cat.trt_for("on_demand", 1, "2.2", "GSME").seconds == 60
    assert cat.trt_for("on_demand", 1, "2.2", "ESME").seconds == 20
    assert cat.trt_for("on_demand", 1, "4.10", "ESME").seconds == 25
    assert cat.trt_for("on_demand", 4, "2.2", "GSME").id == "transform"  # variant first
    six = cat.trt_for("future_dated", 1, "6.23", "GSME")
    assert (six.seconds, six.clock_start, six.source) == (45, "execution", Source.DUIS)
    assumed = assumed_values(cat)
    assert "trt.on_demand" not in assumed and "trt.on_demand-srv2.2-gsme" not in assumed
    assert "trt.on_demand-srv2.2-esme" in assumed and "trt.transform" in assumed
    written = write_catalog(cat, tmp_path / "out.toml")
    again = load_catalog(written)
    assert _same(cat, again) and again.sha256 == cat.sha256


def test_cli_writes_the_catalog_and_fails_with_exit_3(tmp_path: Path) -> None:
    good = tmp_path / "trt.csv"
    good.write_text(HEADER + "2.2,on_demand,GSME,60,seed\n", encoding="utf-8")
    out = tmp_path / "cat.toml"
    r = run_cli("catalog", "--import-trt", str(good), "--write", str(out))
    assert r.returncode == 0, r.stderr
    assert load_catalog(out).trt_for("on_demand", 1, "2.2", "GSME").seconds == 60
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "2.2,on_demand,GSME,sixty,seed\n", encoding="utf-8")
    r = run_cli("catalog", "--import-trt", str(bad), "--write", str(out))
    assert r.returncode == ExitCode.CATALOG
    assert r.stderr.strip().splitlines() == [
        f"error: catalog {bad}: line 2, column seconds: 'sixty' is not a number of seconds"
    ]
