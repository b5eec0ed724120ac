Feature: Rendering prompts
  Prompts are versioned content: a user renders the latest release or pins a version,
  gets every problem with their variables at once, and whatever they send is only ever
  data, never template code.

  Background:
    Given a running MAI service
    And "ada" has signed up with password "correct-horse-1"
    And "ada" signs in with password "correct-horse-1"

  Scenario: Render a pinned version
    When "ada" renders prompt "system" version "1.0.0" with variables '{"assistant_name": "Ada-bot"}'
    Then the answer is 200
    And the prompt rendered is version "1.0.0" reading "You are Ada-bot, a helpful assistant."

  Scenario: Without a version the latest release renders
    When "ada" renders prompt "system" with variables '{"user": "ada", "tone": "cheerful"}'
    Then the answer is 200
    And the prompt rendered is version "1.1.0" containing "a helpful, cheerful assistant"

  Scenario: Bad variables are rejected with every problem listed
    When "ada" renders prompt "system" with variables '{"tone": 3, "mood": "grumpy"}'
    Then the answer is 422 with error code "PROMPT_INVALID_VARIABLES"
    And the problems are "tone" is "wrong_type" and "mood" is "unknown"

  Scenario: An injection attempt is inert
    When "ada" renders prompt "system" with variables '{"user": "{{ 7*7 }}{{ ''.__class__.__mro__ }}"}'
    Then the answer is 200
    And the prompt rendered is version "1.1.0" containing "You are talking to {{ 7*7 }}{{ ''.__class__.__mro__ }}."
