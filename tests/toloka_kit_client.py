"""toloka-kit 1.2.3 (the official Python client) against `crowdagg serve`.

Usage: python tests/toloka_kit_client.py http://127.0.0.1:PORT
The server must serve fixtures/toloka/pool-1001 and pool-1002 with
fixtures/toloka/skills-501.csv (tests/toloka_kit.sh starts it so). Exits non-zero on the
first mismatch. Expected values are Toloka's worked examples (specs/toloka-api.md §4.1, §7
E3-E6), computed by hand from the published formula with q = skill/100.
"""

import datetime
import math
import sys

import toloka.client as toloka
from toloka.client.aggregation import (
    AggregatedSolutionType,
    PoolAggregatedSolutionRequest,
    WeightedDynamicOverlapTaskAggregatedSolutionRequest,
)
from toloka.client.exceptions import DoesNotExistApiError, ValidationApiError

EXPECTED_1001 = [
    ("t-0001", "OK", 0.63 / 0.645),  # 0.97674, Toloka's "97.7"
    ("t-0002", "BAD", 0.135 / 0.1775),  # 0.76056, "76.1"
    ("t-0003", "BAD", 0.108 / 0.11225),  # 0.96214, "96.2"
    ("t-0004", "OK", 0.8),  # w3's REJECTED answer ignored
]  # t-0005 has only a SUBMITTED answer: absent
EXPECTED_1002 = [
    ("c-1", True, 0.036 / 0.18),  # E5: argmax by summed skill, confidence 0.2
    ("c-2", True, 0.504 / 0.51),
]


# crowd-kit 1.4.2 DawidSkene (defaults) on pool 1001's accepted answers, recorded with
# scripts/crowdkit_reference.py DawidSkene on the triples t-0001 w1 OK, w3 OK;
# t-0002 w1 OK, w3 BAD; t-0003 w1 OK, w3 BAD, w2 BAD; t-0004 w2 OK.
EXPECTED_1001_DS = [
    ("t-0001", "OK", 0.9999999999497389),
    ("t-0002", "BAD", 0.9896069074769579),
    ("t-0003", "BAD", 0.9999999999989497),
    ("t-0004", "OK", 0.9999999999010447),
]


def check(solutions, field, expected):
    got = [(s.task_id, s.output_values[field], s.confidence) for s in solutions]
    assert len(got) == len(expected), got
    for (task, value, confidence), (want_task, want_value, want_confidence) in zip(got, expected):
        assert (task, value) == (want_task, want_value), (task, value, want_task, want_value)
        assert math.isclose(confidence, want_confidence, rel_tol=0, abs_tol=1e-9), (
            task,
            confidence,
        )


def field(name):
    return [PoolAggregatedSolutionRequest.Field(name=name)]


def main(url):
    client = toloka.TolokaClient("test-token", url=url, retries=0, timeout=10.0)

    # aggregate_solutions_by_pool -> wait_operation -> get_aggregated_solutions
    operation = client.aggregate_solutions_by_pool(
        type=AggregatedSolutionType.WEIGHTED_DYNAMIC_OVERLAP,
        pool_id="1001",
        answer_weight_skill_id="501",
        fields=field("result"),
    )
    print(f"aggregate_solutions_by_pool: {operation.id} {operation.status.value}")
    operation = client.wait_operation(
        operation, timeout=datetime.timedelta(seconds=30), disable_progress=True
    )
    print(f"wait_operation: {operation.status.value} progress={operation.progress}")
    assert operation.status == toloka.operations.Operation.Status.SUCCESS
    solutions = list(client.get_aggregated_solutions(operation.id, batch_size=1))
    for s in solutions:
        print(f"get_aggregated_solutions: {s.task_id} {s.output_values} {s.confidence:.5f}")
    check(solutions, "result", EXPECTED_1001)

    # find_aggregated_solutions: one page, descending, exact has_more
    page = client.find_aggregated_solutions(operation.id, sort=["-task_id"], limit=1)
    print(
        f"find_aggregated_solutions(sort=-task_id, limit=1): "
        f"{[s.task_id for s in page.items]} has_more={page.has_more}"
    )
    assert [s.task_id for s in page.items] == ["t-0004"] and page.has_more
    page = client.find_aggregated_solutions(
        operation.id, task_id_gt="t-0002", sort=["task_id"], limit=2
    )
    print(
        f"find_aggregated_solutions(task_id_gt=t-0002, limit=2): "
        f"{[s.task_id for s in page.items]} has_more={page.has_more}"
    )
    assert [s.task_id for s in page.items] == ["t-0003", "t-0004"] and not page.has_more

    # aggregate_solutions_by_task
    for task, value, confidence in EXPECTED_1001:
        solution = client.aggregate_solutions_by_task(
            WeightedDynamicOverlapTaskAggregatedSolutionRequest(
                task_id=task,
                pool_id="1001",
                answer_weight_skill_id="501",
                fields=field("result"),
            )
        )
        print(
            f"aggregate_solutions_by_task: {solution.task_id} {solution.output_values} {solution.confidence:.5f}"
        )
        check([solution], "result", [(task, value, confidence)])

    # A boolean field keeps its JSON type.
    operation = client.wait_operation(
        disable_progress=True,
        op=client.aggregate_solutions_by_pool(
            type="WEIGHTED_DYNAMIC_OVERLAP",
            pool_id="1002",
            answer_weight_skill_id="501",
            fields=field("is_cat"),
        ),
    )
    solutions = list(client.get_aggregated_solutions(operation.id))
    for s in solutions:
        print(f"get_aggregated_solutions: {s.task_id} {s.output_values} {s.confidence:.5f}")
    check(solutions, "is_cat", EXPECTED_1002)

    # DAWID_SKENE: the server runs crowd-kit's algorithm.
    operation = client.wait_operation(
        disable_progress=True,
        op=client.aggregate_solutions_by_pool(
            type="DAWID_SKENE",
            pool_id="1001",
            fields=field("result"),
        ),
    )
    solutions = list(client.get_aggregated_solutions(operation.id))
    for s in solutions:
        print(
            f"get_aggregated_solutions (DAWID_SKENE): {s.task_id} {s.output_values} {s.confidence:.10f}"
        )
    check(solutions, "result", EXPECTED_1001_DS)

    # Errors map onto the kit's exceptions by code.
    try:
        client.get_operation("does-not-exist")
        raise AssertionError("expected DoesNotExistApiError")
    except DoesNotExistApiError as error:
        print(
            f"get_operation(does-not-exist): {type(error).__name__} {error.status_code} {error.code}"
        )
    try:
        client.aggregate_solutions_by_pool(
            type="DAWID_SKENE", pool_id="1001", fields=field("result") + field("result")
        )
        raise AssertionError("expected ValidationApiError")
    except ValidationApiError as error:
        print(
            f"DAWID_SKENE with 2 fields: {type(error).__name__} {error.status_code} invalid_fields={error.invalid_fields}"
        )
        assert error.invalid_fields == ["fields"]
    print("toloka-kit session OK")


if __name__ == "__main__":
    main(sys.argv[1])
