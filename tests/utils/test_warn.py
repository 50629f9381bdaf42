import warnings

from revgnn.utils.warn import warn_user


def test_attributed_to_the_caller_and_once_per_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            warn_user("careful", once=True)
        warn_user("again")
        warn_user("again")
    assert [str(w.message) for w in caught] == ["careful", "again", "again"]
    assert {w.filename for w in caught} == {__file__}
