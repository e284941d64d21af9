"""The README extractor refuses every way a host snippet could escape the tests."""
import pytest

from readme_snippets import ReadmeError, parse

OUTPUT = "<!-- test-output -->\n```text\nhello\n```\n"


def programs(*languages):
    return "".join(f"<!-- test: {lang} -->\n```{lang}\ncode for {lang}\n```\n\n" for lang in languages)


ALL = programs("c", "java", "csharp", "python")


def test_marked_programs_and_the_output_are_extracted_verbatim():
    snippets, expected = parse("# Title\n\n" + OUTPUT + ALL + "```text\nnot a program\n```\n")
    assert [s.language for s in snippets] == ["c", "java", "csharp", "python"]
    assert snippets[1].code == "code for java\n"
    assert snippets[1].line == 13  # the fence's line, for messages
    assert expected == "hello\n"


def test_an_unmarked_host_block_is_an_error():
    with pytest.raises(ReadmeError, match="a ```python block without a '<!-- test: python -->' marker"):
        parse(OUTPUT + ALL + "```python\nprint('untested')\n```\n")


def test_a_marker_before_another_language_or_no_block_is_an_error():
    with pytest.raises(ReadmeError, match="a 'java' marker before a 'python' block"):
        parse(OUTPUT + ALL + "<!-- test: java -->\n```python\nx\n```\n")
    with pytest.raises(ReadmeError, match="expected a ``` fence"):
        parse(OUTPUT + ALL + "<!-- test: java -->\nprose\n")
    with pytest.raises(ReadmeError, match="unknown snippet language 'rust'"):
        parse(OUTPUT + ALL + "<!-- test: rust -->\n```rust\nx\n```\n")
    with pytest.raises(ReadmeError, match="unclosed"):
        parse(OUTPUT + ALL + "<!-- test: c -->\n```c\nint x;\n")


def test_every_host_needs_a_program_and_there_is_one_output():
    with pytest.raises(ReadmeError, match="no snippet for csharp"):
        parse(OUTPUT + programs("c", "java", "python"))
    with pytest.raises(ReadmeError, match="no <!-- test-output --> block"):
        parse(ALL)
    with pytest.raises(ReadmeError, match="a second <!-- test-output -->"):
        parse(OUTPUT + ALL + OUTPUT)
    with pytest.raises(ReadmeError, match="no marked host snippets"):
        parse(OUTPUT)
