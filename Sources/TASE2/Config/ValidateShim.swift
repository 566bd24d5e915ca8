// Temporary until the configuration validation lands from the config branch.
extension TASE2Configuration {
    public func validate() throws(ConfigurationError) {}
}
