"""lockgate.pii"""
