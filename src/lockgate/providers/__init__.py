"""lockgate.providers"""
