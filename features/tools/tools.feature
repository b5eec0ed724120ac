Feature: Tools
  Agents act through registered tools: only allowed and enabled tools are offered,
  guarded tools are cached and rate limited, and gated tools wait for a person.

  Background:
    Given a running MAI service with the demo tools
    And "ada" has signed up with password "correct-horse-1"
    And "ada" signs in with password "correct-horse-1"

  Scenario: An agent calls a tool
    When "ada" asks the banker "square 7"
    Then the banker replies "Done: 49"
    And the tool "slow_square" ran 1 time

  Scenario: A disabled tool is not offered to the model
    Given a superuser disabled the tool "slow_square"
    When "ada" asks the banker "tools?"
    Then the banker replies "offered: ['calculator', 'transfer']"

  Scenario: A cached result is served without running the tool again
    When "ada" invokes "slow_square" with n = 3
    And "ada" invokes "slow_square" with n = 3
    Then both answers are 9
    And the tool "slow_square" ran 1 time

  Scenario: Over the rate limit, the model and the API get a clear error
    When "ada" asks the banker "square 1"
    And "ada" asks the banker "square 2"
    And "ada" asks the banker "square 3"
    And "ada" asks the banker "square 4"
    Then the banker's reply mentions "RATE_LIMITED"
    When "ada" invokes "slow_square" with n = 5
    Then the answer is 429 with error code "RATE_LIMITED"

  Scenario: A gated tool waits for approval, then the turn resumes
    When "ada" asks the banker "transfer 10 to bob"
    Then the turn waits for approval of "transfer"
    And the tool "transfer" ran 0 times
    When "ada" approves the pending call
    Then the banker replies "Done: sent 10.00 to bob"
    And the tool "transfer" ran 1 time

  Scenario: A rejected call never runs
    When "ada" asks the banker "transfer 10 to mallory"
    And "ada" rejects the pending call because "not mallory"
    Then the banker replies "Done: not mallory"
    And the tool "transfer" ran 0 times
