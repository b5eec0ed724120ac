Feature: Sign-up, sign-in, token refresh and sign-out
  Users own their data; tokens prove who they are and stop working when they should.

  Background:
    Given a running MAI service

  Scenario: A new user signs up and signs in
    When "ada" signs up with password "correct-horse-1"
    And "ada" signs in with password "correct-horse-1"
    Then "ada" can see her own profile

  Scenario: A wrong password is refused without saying which part was wrong
    Given "ada" has signed up with password "correct-horse-1"
    When "ada" signs in with password "wrong-horse-1"
    Then the answer is 401 with error code "AUTHENTICATION_FAILED"

  Scenario: A refresh token works once; replaying it ends the session
    Given "ada" has signed up with password "correct-horse-1"
    And "ada" signs in with password "correct-horse-1"
    When "ada" refreshes her tokens
    Then "ada" can see her own profile
    When "ada" replays her previous refresh token
    Then the answer is 401 with error code "AUTHENTICATION_FAILED"
    And "ada" can no longer see her profile

  Scenario: Signing out ends the session
    Given "ada" has signed up with password "correct-horse-1"
    And "ada" signs in with password "correct-horse-1"
    When "ada" signs out
    Then "ada" can no longer see her profile
