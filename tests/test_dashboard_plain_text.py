"""User-controlled text (class, file, folder, run and upload names) shows as plain text on every
page: never as Markdown, so a class named like an image link makes no browser fetch anything."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import charts  # the dashboard's own helper modules, imported as its pages do
import messages
import pandas as pd
import pytest
from dashboard_fixtures import DashboardData, crashed, open_page, texts
from markdown_it import MarkdownIt  # installed with Keras (through rich)

BEACON = "![b](http://127.0.0.1:9/x.png)"
BEACON_FOLDER = "![b](x.png)"  # a folder's name holds no slash; a relative address is fetched all the same
HOSTILE = [
    BEACON, "[link](http://127.0.0.1:9/)", "<http://127.0.0.1:9/>", "<img src=x>", "*bold* _it_ `code` ~~s~~",
    "# heading", "- item", "1. item", "> quote", ":red[colour] $x^2$", "a\\b \\[c]", "&#33;[b](x)", "www.example.com",
    "me@example.com", "[ref]: http://127.0.0.1:9/", "line\nbreak", "person_01_007.png", "***", "---", "| a | b |", "0.500 (+0.1)", "3) x",
]
RENDER = MarkdownIt("commonmark").enable(["table", "strikethrough"])  # GitHub-flavoured, but for autolinks (checked apart)
MARKUP = re.compile(r"<(?!/?p>)[a-z]", re.I)  # any element but the paragraph itself


def rendered(markdown: str) -> str:
    return RENDER.render(markdown).strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_renders_as_exactly_itself(text: str):
    shown = rendered(messages.plain(text))
    assert not MARKUP.search(shown), shown  # no image, link, emphasis, code, heading, list, quote or table
    assert html.unescape(re.sub(r"</?p>", "", shown)) == text.replace("\n", " ")
    assert "://" not in messages.plain(text) and "www." not in messages.plain(text)  # no GitHub autolink either


@pytest.mark.parametrize("text", ["sample_data/x", "a`b", "`start", "``two`` end`"])
def test_a_code_span_holds_any_path(text: str):
    shown = rendered(messages.code(text))
    assert shown.startswith("<p><code>") and shown.endswith("</code></p>") and shown.count("<code>") == 1, shown
    assert html.unescape(shown[len("<p><code>"):-len("</code></p>")]) == text


def test_tables_and_charts_escape_names():
    frame = messages.plain_frame(pd.DataFrame({BEACON: ["*x*", 3]}, index=["[r](http://h/)", "b"]))
    assert list(frame.columns) == [messages.plain(BEACON)] and frame.iloc[0, 0] == r"\*x\*" and frame.iloc[1, 0] == 3
    assert "<" not in charts.label("<a href='http://h/'>x</a>")
    fig = charts.class_distance_bars({"<a href='http://h/'>x</a>": 0.1, "b": 0.2}, 0.15, "b")
    assert all("<" not in x for x in fig.data[0].x)


def markdown_values(at) -> list[str]:
    """Everything the page sends as Markdown: text, alerts, captions, expander labels, tables."""
    captions = [caption for element in at.image for caption in element.captions]  # as sent, not image_captions' reading
    values = [*texts(at).split("\n"), *captions, *(e.label for e in at.expander)]
    for table in at.table:
        frame = table.value
        values += [str(v) for v in [*frame.columns, *frame.index, *frame.to_numpy().ravel()]]
    return values


def assert_plain(values: list[str]) -> None:
    for value in values:
        shown = rendered(value)
        assert "<img" not in shown and "<a " not in shown and "://" not in value, value


def test_hostile_class_and_file_names_are_plain_on_the_data_page(dashboard_env: DashboardData, tmp_path: Path, monkeypatch):
    root = tmp_path / "own"
    dataset = root / "[d](http:)"
    source = sorted((dashboard_env.data / "train").iterdir())
    shutil.copytree(source[0], dataset / BEACON_FOLDER)
    shutil.copytree(source[1], dataset / "person")
    first = sorted((dataset / BEACON_FOLDER).iterdir())[0]
    first.rename(first.with_name("*b*_[c](x).png"))
    monkeypatch.setenv("SIAMESE_DATA_ROOTS", f"{dashboard_env.data}:{root}")
    at = open_page("data.py")
    at.sidebar.selectbox(key="_dataset_picker").set_value(str(dataset.resolve())).run()
    assert not crashed(at), crashed(at)
    values = markdown_values(at)
    assert any(r"\!\[b\](x.png)" in v for v in values), values  # the class is shown, escaped
    assert any(r"\*b\*\_\[c\](x).png" in v for v in values), values  # and the file
    assert_plain(values)


def test_a_hostile_upload_name_is_plain_on_the_probe_page(dashboard_env: DashboardData):
    at = open_page("probe.py")
    image = sorted((dashboard_env.data / "test").rglob("*.png"))[0]
    at.file_uploader[0].upload(BEACON + ".png", image.read_bytes(), "image/png").run()
    assert not crashed(at), crashed(at)
    values = markdown_values(at)
    assert any(messages.plain(BEACON + ".png") in v for v in values), values
    assert_plain(values)
    at.file_uploader[0].upload(BEACON + ".png", b"not an image", "image/png").run()
    assert at.error and messages.plain(BEACON + ".png") in at.error[0].value
    assert_plain(markdown_values(at))
