"""lockgate.storage"""
