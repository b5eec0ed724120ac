Feature: A user cannot see another user's conversations
  Conversations are private: another user's id answers 404, as if it did not exist.

  Background:
    Given a running MAI service
    And "ada" has signed up with password "correct-horse-1"
    And "ada" signs in with password "correct-horse-1"
    And "eve" has signed up with password "correct-horse-2"
    And "eve" signs in with password "correct-horse-2"
    And "ada" has a conversation titled "diary"

  Scenario: Another user's conversation is not found
    When "eve" opens "ada"'s conversation "diary"
    Then the answer is 404 with error code "NOT_FOUND"
    When "eve" lists her conversations
    Then she sees no conversations

  Scenario: Another user cannot delete a conversation
    When "eve" deletes "ada"'s conversation "diary"
    Then the answer is 404 with error code "NOT_FOUND"
    When "ada" opens "ada"'s conversation "diary"
    Then the answer is 200

  Scenario: Another user cannot read it through GraphQL either
    When "eve" asks GraphQL for "ada"'s conversation "diary"
    Then the GraphQL error code is "NOT_FOUND"
