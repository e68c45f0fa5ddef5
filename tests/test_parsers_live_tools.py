"""The parsers against output produced now by the real Yosys and nextpnr (YoWASP builds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.parsers import parse_file
from test_parsers_helpers import YOSYS_FIXTURES, record_nextpnr, record_yosys


@pytest.mark.slow
def test_live_yosys_and_nextpnr_outputs(tmp_path: Path) -> None:
    yosys = record_yosys(tmp_path)
    nextpnr = record_nextpnr(tmp_path)

    text = parse_file(yosys["sc_pair_ice40_stat_tee.txt"])
    data = parse_file(yosys["sc_pair_ice40_stat.json"])
    log = parse_file(yosys["sc_pair_ice40_synth.log"])
    in_log_json = parse_file(yosys["sc_pair_ice40_json_in_log.log"])
    for report in (data, log, in_log_json):
        assert (report.cells, report.cells_by_type) == (text.cells, text.cells_by_type)
    assert log.status == "ok" and log.tool_version is not None

    hierarchy = parse_file(yosys["sc_pair_generic_cmos.log"])
    assert hierarchy.design == "top"
    assert hierarchy.cells_by_type == parse_file(yosys["sc_pair_generic_stat.json"]).cells_by_type
    assert hierarchy.cells == parse_file(YOSYS_FIXTURES / "sc_pair_generic_cmos.log").cells

    for stem in ("sc_pair_ice40", "sc_pair_ecp5"):
        pnr_log = parse_file(nextpnr[f"{stem}_pnr.log"])
        pnr_json = parse_file(nextpnr[f"{stem}_report.json"])
        assert pnr_log.status == "ok"
        assert {name: pnr_log.resources[name] for name in pnr_json.resources} == pnr_json.resources
        assert pnr_log.timing is not None and pnr_json.timing is not None
        assert [round(c.fmax_mhz or 0, 2) for c in pnr_json.timing.clocks] == [
            c.fmax_mhz for c in pnr_log.timing.clocks
        ]
    lc = parse_file(nextpnr["sc_pair_ice40_pnr.log"]).resources["lc"]
    assert lc.used is not None and lc.available == 5280

    failing = parse_file(nextpnr["sc_pair_ice40_timing_error.log"])
    assert failing.timing is not None and failing.timing.constraints_met is False
