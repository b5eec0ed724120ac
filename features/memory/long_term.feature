Feature: Remembering across conversations
  What a user tells an agent that remembers is there in later conversations, ranked the
  way the weights say, cleaned up when old and unimportant, and never lost to an outage.

  Background:
    Given a running MAI service
    And "ada" has signed up with password "correct-horse-1"
    And an agent "companion" that recalls memories and writes episodes

  Scenario: A later conversation recalls an earlier one
    When "ada" tells "companion" "My sister Lena lives in Porto"
    And "ada" asks "companion" in a new conversation "where does my sister live?"
    Then the model was reminded of "Lena lives in Porto"

  Scenario: Importance beats similarity when the weights say so
    Given ranking weights of similarity 0.2, importance 0.8 and recency 0
    And "ada" remembers "coffee coffee coffee chat" with importance 0.05
    And "ada" remembers "Ada is allergic to coffee" with importance 1.0
    When "ada" searches her memories for "coffee chat"
    Then the first memory found is "Ada is allergic to coffee"

  Scenario: Cleanup forgets old unimportant memories only
    Given "ada" remembers "small talk about the weather" with importance 0.1
    And "ada" remembers "Ada's passport expires in 2030" with importance 0.9
    When 200 days pass and memories older than 90 days below importance 0.5 are cleaned up
    Then "ada" still has only "Ada's passport expires in 2030"

  Scenario: An index outage loses nothing
    Given the vector index is down
    When "ada" remembers "the launch code is 1234" with importance 0.5
    And "ada" searches her memories for "launch code 1234"
    Then the search is degraded but finds "the launch code is 1234"
    When the vector index is back and the reconciler runs
    Then "ada" finds "the launch code is 1234" in the vector index
