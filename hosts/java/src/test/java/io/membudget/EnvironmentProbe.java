package io.membudget;

/**
 * A child JVM for the tests that need their own environment or stderr. Modes:
 * {@code plan} prints the planned total process memory of a runtime that reads the environment;
 * {@code quotas} prints the quotas of a runtime whose quotas come from the environment (or the
 * exception it got); {@code report} reports refusals to stderr and is refused once.
 */
public final class EnvironmentProbe {
    private EnvironmentProbe() {}

    public static void main(String[] args) {
        switch (args.length == 0 ? "plan" : args[0]) {
            case "plan" -> {
                try (MemBudget budget = MemBudget.builder().useEnvironment(true).ignoreContainer(true).build()) {
                    String json = budget.planJson();
                    int at = json.indexOf("\"total_process_memory\": ");
                    System.out.println(json.substring(at, json.indexOf(',', at)));
                }
            }
            case "quotas" -> {
                try (MemBudget budget = MemBudget.builder().quotasFromEnvironment(true).build()) {
                    StringBuilder quotas = new StringBuilder();
                    for (Category c : Category.values()) {
                        quotas.append(c).append('=').append(budget.usage(c).quota()).append(' ');
                    }
                    System.out.println(quotas.toString().strip());
                    // All network buffers (32 KiB each) can be guaranteed to one pool.
                    int n = (int) (budget.usage(Category.NETWORK).quota() / 32768);
                    try (LocalBufferPool pool = budget.createLocalBufferPool(n, n)) {
                        System.out.println("pool of " + n + " buffers: " + pool.budget().equals(budget));
                    }
                    budget.planJson();
                } catch (MemBudgetException e) {
                    System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
                }
            }
            case "report" -> {
                MemBudget.reportRefusals(true);
                try (MemBudget budget = Runtimes.open()) {
                    budget.reserve(Category.DIRECT, 1L << 40);
                } catch (QuotaExceededException e) {
                    System.out.println("caught");
                }
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }
}
