"""lockgate.usage"""
