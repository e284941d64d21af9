package io.membudget;

/** Prints the planned total process memory of a runtime that reads the environment. */
public final class EnvironmentProbe {
    private EnvironmentProbe() {}

    public static void main(String[] args) {
        try (MemBudget budget = MemBudget.builder().useEnvironment(true).ignoreContainer(true).build()) {
            String json = budget.planJson();
            int at = json.indexOf("\"total_process_memory\": ");
            System.out.println(json.substring(at, json.indexOf(',', at)));
        }
    }
}
