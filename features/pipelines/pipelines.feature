Feature: Pipelines
  A pipeline is a typed DAG of stages, checked before anything runs. It runs one stage at
  a time, layer by layer, or each stage as soon as its dependencies are done, never more
  at once than its bound. Its error strategy decides what a failure stops, cacheable
  stages are not recomputed on a re-run, and each run belongs to the user who ran it.

  Background:
    Given an in-process pipeline executor with a results cache

  Scenario: A sequential run takes one stage at a time, in topological order
    Given a "sequential" pipeline "brief" of stages:
      | stage   | after            | seconds |
      | outline |                  | 0.01    |
      | sources |                  | 0.01    |
      | draft   | outline, sources | 0.01    |
    When "ada" runs "brief" with "tea"
    Then the run succeeded with output "draft({'outline': 'outline(tea)', 'sources': 'sources(tea)'})"
    And at most 1 stage ran at a time
    And the stages started in the order outline, sources, draft

  Scenario: A parallel run overlaps the stages of a layer, within its bound
    Given a "parallel" pipeline "fanout" limited to 2 at a time of stages:
      | stage | after   | seconds |
      | a     |         | 0.05    |
      | b     |         | 0.05    |
      | c     |         | 0.05    |
      | join  | a, b, c | 0.01    |
    When "ada" runs "fanout" with "x"
    Then the run succeeded
    And at most 2 stages ran at a time
    And 2 stages ran at the same time

  Scenario: A DAG run starts a stage as soon as its dependencies are done
    Given a "dag" pipeline "early" of stages:
      | stage      | after            | seconds |
      | fast       |                  | 0       |
      | slow       |                  | 0.2     |
      | after_fast | fast             | 0       |
      | join       | after_fast, slow | 0       |
    When "ada" runs "early" with "x"
    Then the run succeeded
    And "after_fast" finished while "slow" was still running

  Scenario: fail_fast stops the run at the first failure
    Given a "dag" pipeline "fragile" with the "fail_fast" strategy of stages:
      | stage  | after     | seconds | fails |
      | bad    |           | 0.01    | yes   |
      | slow   |           | 0.3     |       |
      | report | bad, slow | 0       |       |
    When "ada" runs "fragile" with "x"
    Then the run failed
    And the stages ended as:
      | stage  | status    |
      | bad    | failed    |
      | slow   | cancelled |
      | report | skipped   |

  Scenario: continue lets the independent branches finish
    Given a "dag" pipeline "branches" with the "continue" strategy of stages:
      | stage     | after                | seconds | fails |
      | bad       |                      | 0.01    | yes   |
      | after_bad | bad                  | 0       |       |
      | good      |                      | 0.05    |       |
      | good_next | good                 | 0       |       |
      | join      | after_bad, good_next | 0       |       |
    When "ada" runs "branches" with "x"
    Then the run failed
    And the stages ended as:
      | stage     | status    |
      | bad       | failed    |
      | after_bad | skipped   |
      | good      | succeeded |
      | good_next | succeeded |
      | join      | skipped   |
    And the output "good_next(good(x))" of "good_next" was kept

  Scenario: retry tries a flaky stage again, with backoff
    Given a "sequential" pipeline "flaky" with the "retry" strategy of stages:
      | stage | after | seconds | fails   |
      | call  |       | 0       | 2 times |
    When "ada" runs "flaky" with "x"
    Then the run succeeded
    And "call" took 3 attempts

  Scenario: retry gives up after the stage's attempts
    Given a "sequential" pipeline "broken" with the "retry" strategy of stages:
      | stage | after | seconds | fails   |
      | call  |       | 0       | 9 times |
    When "ada" runs "broken" with "x"
    Then the run failed
    And "call" took 3 attempts

  Scenario: A stage that runs too long fails with a timeout
    Given a "sequential" pipeline "stuck" of stages:
      | stage | after | seconds | timeout |
      | wait  |       | 5       | 0.05    |
    When "ada" runs "stuck" with "x"
    Then the run failed
    And "wait" failed with error code "STAGE_TIMEOUT"

  Scenario: A re-run skips the cached stages
    Given a "sequential" pipeline "rag" of stages:
      | stage    | after    | seconds | cacheable |
      | retrieve |          | 0       | yes       |
      | draft    | retrieve | 0       |           |
    When "ada" runs "rag" with "tea"
    And "ada" runs "rag" with "tea"
    Then the run succeeded with output "draft(retrieve(tea))"
    And the stages ended as:
      | stage    | status    |
      | retrieve | cached    |
      | draft    | succeeded |
    And "retrieve" was called 1 time
    And "draft" was called 2 times

  Scenario: An invalid pipeline is refused before anything runs
    When a "dag" pipeline "loop" is defined with stages:
      | stage | after |
      | a     | b     |
      | b     | a     |
    Then it is refused with error code "PIPELINE_INVALID" naming the stages a, b
    And no stage was called

  Scenario: A user cannot read another user's run
    Given a "sequential" pipeline "private" of stages:
      | stage | after | seconds |
      | only  |       | 0       |
    When "ada" runs "private" with "secret"
    Then "ada" can read her last run
    And "eve" cannot read "ada"'s last run
    And "eve" has no runs
