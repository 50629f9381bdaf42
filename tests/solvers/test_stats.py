from revgnn.solvers import SolverStats, convergence_message


def test_message_says_why_and_what_is_returned():
    stats = SolverStats("anderson", 30, [1.0] * 30, False, 0.02, 17, 1e-3, "rel")
    text = convergence_message(stats, "DEQ forward solve")
    assert text == (
        "DEQ forward solve (anderson) did not converge: best rel residual 0.02 > tol=0.001 "
        "after 30 evaluations (max_iter reached); returning the lowest-residual iterate "
        "(iteration 17)"
    )
    stats.diverged = True
    assert "(f returned non-finite values)" in convergence_message(stats)
    assert stats.as_dict()["best_iteration"] == 17
