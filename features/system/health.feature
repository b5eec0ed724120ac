Feature: The service reports the health of its adapters
  Operators and load balancers ask the service whether it can serve.

  Scenario: A fresh service is live and ready
    Given a running MAI service
    When I ask for its liveness
    Then the answer is 200 with status "ok"
    When I ask for its readiness
    Then the answer is 200 with status "ok"
    And the readiness lists the adapters "database" and "cache"

  Scenario: Every request carries a correlation id
    Given a running MAI service
    When I ask for its liveness with request id "trace-42"
    Then the response carries the request id "trace-42"
