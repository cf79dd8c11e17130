"""The chat page in a real browser (Playwright driving Debian's Chromium).

`UPDATE_SCREENSHOT=1 pytest tests/test_web_browser.py` also refreshes docs/screenshot.png.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import ROOT, free_port, write_jsonl

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
XSS_TITLE = '<img src=x onerror="window.__xss=1">'
XSS_QUESTION = "What do quibbleton lattices store?"
HYPER_QUESTION = "Which papers train a hypernetwork to predict embeddings for new tokens?"
REFUSED_QUESTION = "Which paper uses quantum circuits to accelerate attention computation?"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                     "(apt-get install chromium); `playwright install` cannot "
                                                     "download browsers here"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def url(sample_index_dir, tmp_path_factory):
    """The page over a copy of the sample index plus one paper whose title and abstract are HTML."""
    from assistant import Assistant
    from assistant import web

    tmp = tmp_path_factory.mktemp("browser")
    index_dir = tmp / "index"
    shutil.copytree(sample_index_dir, index_dir)
    planted = write_jsonl(tmp / "planted.jsonl", [{
        "title": XSS_TITLE,
        "abstract": "Quibbleton lattices store memories in crystalline glass <script>window.__xss=2</script>. "
                    "We show that quibbleton lattices retain data for a thousand years at room temperature.",
        "url": "javascript:window.__xss=3",
    }])
    assistant = Assistant(index_dir=index_dir)
    report = assistant.ingest([planted])
    assert report.added == 1, report.errors
    demo = web.serve(assistant, host="127.0.0.1", port=free_port(), block=False, quiet=True)
    yield f"http://127.0.0.1:{demo.server_port}/"
    demo.close()


@pytest.fixture(scope="module")
def page(url):
    hosts: set[str] = set()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        pg = browser.new_page(viewport={"width": 1400, "height": 900})
        pg.set_default_timeout(30_000)
        pg.on("request", lambda r: hosts.add(urlsplit(r.url).hostname or ""))
        pg.goto(url, wait_until="load")
        question_box(pg).wait_for()
        yield pg
        browser.close()
    # the page needs nothing from the internet (fonts, scripts, analytics)
    outside = {h for h in hosts if h and h != "localhost" and not ipaddress.ip_address(h).is_loopback}
    assert not outside, f"the page fetched from {outside}"


def question_box(page):
    return page.locator("#ap-question").get_by_test_id("textbox")


def ask(page, question: str):
    question_box(page).fill(question)
    question_box(page).press("Enter")
    bot = page.locator('[data-testid="bot"]').last
    bot.locator(".ap-foot").wait_for()  # the final answer (streamed text has no footer yet)
    return bot


def new_chat(page):
    page.get_by_role("button", name="New chat").click()
    page.locator('[data-testid="bot"]').first.wait_for(state="detached")


def test_example_question_answer_and_citation_opens_its_source(page, tmp_path):
    page.get_by_text(HYPER_QUESTION).first.click()  # an example card of the empty chat
    bot = page.locator('[data-testid="bot"]').last
    bot.wait_for()
    bot.locator(".ap-foot").wait_for()
    assert "hypernetwork" in bot.inner_text() and "offline extractive" in bot.inner_text()
    cite = bot.locator("a.ap-cite", has_text="[1]").first
    cite.hover()
    card = page.locator("#src-1-1")
    assert "ap-hover" in card.get_attribute("class")
    cite.click()
    assert "ap-active" in card.get_attribute("class") and page.url.rstrip("/") + "/" == page.url  # no navigation
    mark = card.locator("mark.ap-quote")
    assert mark.count() >= 1 and mark.first.is_visible() and len(mark.first.inner_text()) > 20
    # the opened card is scrolled into view inside the sources panel
    panel = page.locator("#ap-sources").bounding_box()
    box = card.bounding_box()
    assert panel["y"] - 1 <= box["y"] <= panel["y"] + panel["height"]
    assert page.locator("#ap-sources details.ap-uncited").count() == 1  # uncited papers, collapsed
    assert not page.locator("#ap-sources details.ap-uncited").evaluate("d => d.open")
    page.mouse.move(0, 0)
    page.wait_for_timeout(400)  # the click highlight settles
    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot))
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / "screenshot.png")


def test_refusal_is_visibly_different(page):
    new_chat(page)
    bot = ask(page, REFUSED_QUESTION)
    assert bot.locator(".ap-refused .ap-refused-label").is_visible()
    assert page.locator("#ap-sources .ap-turn-refused").is_visible()
    assert page.locator("#ap-sources .ap-src").count() >= 2  # the closest papers


def test_html_in_titles_and_abstracts_is_shown_as_text(page):
    new_chat(page)
    bot = ask(page, XSS_QUESTION)
    assert XSS_TITLE in bot.inner_text()  # the title, quoted in the answer, as text
    card = page.locator("#src-1-1")
    assert card.locator(".ap-title").inner_text() == XSS_TITLE
    assert "<script>window.__xss=2</script>" in card.inner_text()
    assert card.locator(".ap-title a").count() == 0  # the javascript: url is not linked
    assert page.evaluate("window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0 and page.locator("#ap-sources script").count() == 0
    card.locator(".ap-title").click()
    assert page.evaluate("window.__xss") is None


def test_library_tab_sorts_filters_and_removes_a_paper(page):
    """Runs last: it removes the planted paper the tests above ask about."""
    from ingest.records import normalise_title

    page.get_by_role("tab", name="Library").click()
    table = page.locator("#ap-library-table")
    table.locator("table").wait_for()
    assert "366 papers" in table.inner_text()  # the 365 sample papers and the planted one
    assert "daily page of" in page.locator("#ap-library-counts").inner_text()  # readable source names
    first_title = table.locator("td.ap-title").first
    page.locator("#ap-library-sort").get_by_text("Recently added").click()
    sync_api.expect(first_title).to_have_text(XSS_TITLE)  # added after the sample pages
    page.locator("#ap-library-sort").get_by_text("Title (A–Z)").click()
    sync_api.expect(first_title).not_to_have_text(XSS_TITLE)
    first = table.locator("td.ap-title").all_inner_texts()[:8]
    assert first == sorted(first, key=normalise_title)

    query = page.locator("#ap-library-query").get_by_test_id("textbox")
    query.fill("<img src")
    query.press("Enter")
    table.get_by_text("1 of 366 papers").wait_for()
    assert table.locator("td.ap-title").inner_text() == XSS_TITLE
    assert table.locator("td.ap-title a").count() == 0  # its javascript: url is not linked
    assert page.evaluate("window.__xss") is None and page.locator('img[src="x"]').count() == 0

    page.get_by_text("Remove papers").click()
    page.locator("#ap-library-select label").filter(has_text="no date").first.click()
    page.get_by_role("button", name="Remove selected…").click()
    sync_api.expect(page.locator("#ap-library-question")).to_contain_text(XSS_TITLE)  # asks first, naming it
    page.get_by_role("button", name="Yes, remove them").click()
    page.locator("#ap-library-status").get_by_text("1 paper removed").wait_for()
    table.get_by_text("No papers match these filters.").wait_for()
    page.locator("#ap-header").get_by_text("365 indexed paper").wait_for()  # the chat's header follows
