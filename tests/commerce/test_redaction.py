"""The free text erasure replaces on a stored document, by explicit array index."""

from __future__ import annotations

from gateway.commerce.redaction import ERASED_TEXT, fields, redactions

ORDER = {"_id": "ord_1", "total": 4690, "shipments": [
    {"id": "shp_1", "carrier": "SF Express", "tracking_number": "call Zhao 139", "at": 1},
    {"id": "shp_2", "carrier": ERASED_TEXT, "tracking_number": ERASED_TEXT}], "returns": [
    {"id": "ret_1", "lines": [{"sku": "a", "quantity": 1, "write_off_reason": None},
                              {"sku": "b", "quantity": 2, "write_off_reason": "Zhao's dog"}]},
    {"id": "ret_2", "lines": [{"sku": "a", "quantity": 1}]}]}


def test_every_string_at_a_free_text_path_is_set_by_its_index_and_nothing_else() -> None:
    assert redactions("orders", ORDER) == {
        "shipments.0.carrier": ERASED_TEXT, "shipments.0.tracking_number": ERASED_TEXT,
        "returns.0.lines.1.write_off_reason": ERASED_TEXT}


def test_an_erased_document_and_the_gateways_own_text_need_nothing() -> None:
    erased = {"_id": "rfd_1", "reason": ERASED_TEXT, "lines": [
        {"sku": "b", "write_off_reason": ERASED_TEXT}, {"sku": "a", "write_off_reason": None}]}
    assert redactions("refunds", erased) == {}
    assert redactions("refunds", {"_id": "rfd_2", "reason": "order cancelled",
                                  "lines": []}) == {}
    assert redactions("refunds", {"_id": "rfd_3", "reason": "return: for Zhao",
                                  "lines": []}) == {"reason": ERASED_TEXT}
    assert redactions("order_events", {"_id": "evt_1", "kind": "PAID"}) == {}


def test_the_projection_reads_the_top_level_fields_of_the_free_text() -> None:
    assert fields("orders") == {"_id": 1, "shipments": 1, "returns": 1}
    assert fields("visits") == {"_id": 1, "source": 1}
