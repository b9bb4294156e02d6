public enum LogGen {}
